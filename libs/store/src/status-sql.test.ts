import { describe, expect, it } from 'vitest';
import { ACTIVE_STATUSES, CLAIMED_STATUS, type ExecutionStatus } from '@linkflow/domain';
import { CLAIM_SQL, FINISH_SQL, MARK_DEAD_SQL, ORPHANS_SQL } from './run-store-sql.ts';
import { sqlStatus, sqlStatusList } from './status-sql.ts';

describe('sqlStatus', () => {
  it('quotes a domain status and lists several for `in`', () => {
    expect(sqlStatus(CLAIMED_STATUS)).toBe("'running'");
    expect(sqlStatusList(ACTIVE_STATUSES)).toBe("('pending', 'running')");
  });

  it('rejects anything that is not a domain status, and an empty list', () => {
    expect(() => sqlStatus("x' or '1'='1" as ExecutionStatus)).toThrow(
      expect.objectContaining({ code: 'NOT_A_STATUS' }),
    );
    expect(() => sqlStatusList([])).toThrow(expect.objectContaining({ code: 'NOT_A_STATUS' }));
  });
});

describe('run store SQL', () => {
  it('guards claims, the sweeper and the final write with the domain statuses', () => {
    expect(CLAIM_SQL).toContain(`cur.status in ${sqlStatusList(ACTIVE_STATUSES)}`);
    expect(ORPHANS_SQL).toContain(`status in ${sqlStatusList(ACTIVE_STATUSES)}`);
    expect(MARK_DEAD_SQL).toContain(`status in ${sqlStatusList(ACTIVE_STATUSES)}`);
    expect(FINISH_SQL).toContain(`e.status = ${sqlStatus(CLAIMED_STATUS)}`);
  });
});
