import { describe, expect, it } from 'vitest';
import { prng } from '../../test/helpers/prng.ts';
import { isoDay, isoTime } from './iso-time.ts';

describe('isoTime', () => {
  it('writes what Date#toISOString writes, across the range and at its edges', () => {
    const edges = [
      0,
      -1,
      1,
      999,
      1000,
      86_399_999,
      951_782_400_000 /* 2000-02-29 */,
      -62_167_219_200_000,
      -62_167_219_200_001,
      253_402_300_799_999,
      253_402_300_800_000,
      8.64e15,
      -8.64e15,
      Date.UTC(2026, 11, 31, 23, 59, 59, 999),
      Date.UTC(1969, 11, 31, 23, 59, 59, 5),
    ];
    const random = prng(17);
    const samples = [
      ...edges,
      ...Array.from({ length: 5000 }, () => Math.floor((random() - 0.5) * 2 * 8.64e15)),
    ];
    for (const ms of samples) {
      expect(isoTime(ms), String(ms)).toBe(new Date(ms).toISOString());
      expect(isoDay(ms), String(ms)).toBe(new Date(ms).toISOString().slice(0, 10));
    }
  });

  it('refuses an invalid time as Date does', () => {
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
    expect(() => isoTime(8.64e15 + 1)).toThrow(RangeError);
  });
});
