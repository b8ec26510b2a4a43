/**
 * Option schemas that many YAML mappings write alike (`host:`, `lmtp:`, `timeout_ms:` …),
 * built once per process and shared: zod's schemas are immutable, so a shared one is the
 * same check with the same messages, and each chain written out again cost a process per
 * mail (`malist receive`) its 2 to 6 objects at ~44 µs each (src/mail/deferred-option.ts).
 */
import { z } from 'zod';

/** Any string, or nothing. */
export const optionalText = z.string().optional();
/** A non-empty string (a name, a path, a host), or nothing. */
export const optionalName = z.string().min(1).optional();
export const optionalBoolean = z.boolean().optional();
/** A number above 0 (seconds, hours, sizes), or nothing. */
export const optionalPositive = z.number().positive().optional();
/** A whole number above 0 (milliseconds, counts), or nothing. */
export const optionalPositiveInt = z.number().int().positive().optional();
/** A list of strings (types, names), or nothing. */
export const optionalStrings = z.array(z.string()).optional();
