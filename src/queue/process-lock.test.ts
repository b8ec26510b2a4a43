import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { currentHolder, formatHolder, isHolderGone, parseHolder } from './process-lock.ts';

describe('process lock', () => {
  it('round-trips a holder and sees itself alive', () => {
    const me = currentHolder();
    expect(parseHolder(formatHolder(me))).toEqual(me);
    expect(isHolderGone(me)).toBe(false);
  });
  it('a finished process is gone; a recycled PID (other start time) is gone; another host is never', () => {
    const child = spawnSync('true');
    expect(isHolderGone({ ...currentHolder(), pid: child.pid as number })).toBe(true);
    expect(isHolderGone({ ...currentHolder(), start: '1' })).toBe(true);
    expect(isHolderGone({ ...currentHolder(), host: 'elsewhere', pid: child.pid as number })).toBe(
      false,
    );
  });
});
