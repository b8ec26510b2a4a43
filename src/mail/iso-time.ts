/**
 * ISO 8601 times (`2026-12-06T10:07:00.000Z`), as `Date#toISOString` writes them, without
 * calling it: V8 sets up its time-zone cache (ICU, /etc/localtime) the first time a process
 * turns any Date into a string, UTC forms included, ~0.7 ms. `malist receive`, a process per
 * mail, formats a time or two (the journal's entry, the sent-index's day, delivery.log) and
 * would pay that each mail; `getUTC*` need no zone.
 */

const two = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

/** `new Date(ms).toISOString()`, the same string (and the same RangeError for an invalid time). */
export function isoTime(ms: number): string {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  // Years outside 0000–9999 (±YYYYYY) and invalid times: Date's own answer.
  if (!(year >= 0 && year <= 9999)) return d.toISOString();
  const milli = d.getUTCMilliseconds();
  return (
    `${String(year).padStart(4, '0')}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}` +
    `T${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}` +
    `.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`
  );
}

/** The UTC day of `ms`, `YYYY-MM-DD` (isoTime's first ten characters). */
export function isoDay(ms: number): string {
  return isoTime(ms).slice(0, 10);
}
