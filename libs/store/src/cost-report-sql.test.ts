import { describe, expect, it } from 'vitest';
import { costBucket } from './cost-rollup-sql.ts';
import { groupsSql, nodesSql, wholeDays } from './cost-report-sql.ts';

const at = (iso: string) => new Date(iso);

describe('wholeDays', () => {
  it('takes the UTC midnights inside a rolling month', () => {
    expect(wholeDays(at('2026-11-05T10:30:00Z'), at('2026-12-05T10:30:00Z'))).toEqual({
      fullFrom: at('2026-11-06T00:00:00Z'),
      fullTo: at('2026-12-05T00:00:00Z'),
    });
  });

  it('keeps a window that starts at midnight whole from its first day', () => {
    expect(wholeDays(at('2026-12-01T00:00:00Z'), at('2026-12-03T00:00:00Z'))).toEqual({
      fullFrom: at('2026-12-01T00:00:00Z'),
      fullTo: at('2026-12-03T00:00:00Z'),
    });
  });

  it('reads a window with no whole day live (both bounds at its end)', () => {
    const to = at('2026-12-05T10:30:00Z');
    expect(wholeDays(at('2026-12-04T10:30:00Z'), to)).toEqual({ fullFrom: to, fullTo: to });
    expect(wholeDays(at('2026-12-05T01:00:00Z'), to)).toEqual({ fullFrom: to, fullTo: to });
  });
});

describe('report SQL', () => {
  it('filters on the tenant only in the tenant texts', () => {
    expect(groupsSql('tenant', 'workflow')).toContain('e.tenant_id = $3');
    expect(groupsSql('all', 'tenant')).not.toContain('tenant_id = $3');
    expect(nodesSql('all')).toContain('$3::text is null');
  });

  it('buckets costs by eighths of a doubling, zero apart', () => {
    expect(costBucket('c')).toContain('floor(ln(c::float8) * 8 / ln(2))');
    expect(costBucket('c')).toContain('else -10000');
  });
});
