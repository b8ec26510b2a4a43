/**
 * Option schemas that many YAML mappings write alike (`host:`, `lmtp:`, `timeout_ms:` …),
 * built once per process and shared: zod's schemas are immutable, so a shared one is the
 * same check with the same messages, and each chain written out again cost a process per
 * mail (`malist receive`) its 2 to 6 objects at ~44 µs each (src/mail/deferred-option.ts).
 * Each is built on its first read (lazySchema): a receive answered by the check cache reads
 * none.
 */
import { z } from 'zod';
import { lazySchema } from './deferred-option.ts';

/** Any string, or nothing. */
export const optionalText = lazySchema(() => z.string().optional());
/** A non-empty string (a name, a path, a host), or nothing. */
export const optionalName = lazySchema(() => z.string().min(1).optional());
export const optionalBoolean = lazySchema(() => z.boolean().optional());
/** A number above 0 (seconds, hours, sizes), or nothing. */
export const optionalPositive = lazySchema(() => z.number().positive().optional());
/** A whole number above 0 (milliseconds, counts), or nothing. */
export const optionalPositiveInt = lazySchema(() => z.number().int().positive().optional());
/** A list of strings (types, names), or nothing. */
export const optionalStrings = lazySchema(() => z.array(z.string()).optional());
