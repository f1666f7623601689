/** Opaque keyset cursors over (created_at, id), ordered newest first. */
export interface CursorKey {
  readonly createdAt: Date;
  readonly id: string;
}

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify([key.createdAt.toISOString(), key.id])).toString('base64url');
}

/** Undefined when the text is not a cursor this module made. */
export function decodeCursor(text: string): CursorKey | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (!Array.isArray(parsed) || parsed.length !== 2) return undefined;
    const [at, id] = parsed as unknown[];
    if (typeof at !== 'string' || typeof id !== 'string') return undefined;
    const createdAt = new Date(at);
    return Number.isNaN(createdAt.getTime()) ? undefined : { createdAt, id };
  } catch {
    return undefined;
  }
}

/** Prisma `where` fragment for rows strictly after the cursor in (created_at desc, id desc). */
export function afterCursor(key: CursorKey | undefined): object {
  if (!key) return {};
  return {
    OR: [{ createdAt: { lt: key.createdAt } }, { createdAt: key.createdAt, id: { lt: key.id } }],
  };
}

/** Splits `limit + 1` fetched rows into a page. */
export function toPage<T extends CursorKey, U>(
  rows: readonly T[],
  limit: number,
  map: (row: T) => U,
): { items: U[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items: items.map(map),
    nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
  };
}
