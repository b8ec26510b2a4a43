/** The static registry of reactors (YAML `type:` → default factory). */
import type { Reactor } from '../types.ts';
import createJsonLog from './json-log.ts';
import createStderrLogger from './stderr-logger.ts';

export const reactors = {
  'stderr-logger': createStderrLogger,
  'json-log': createJsonLog,
} satisfies Record<string, (options: never) => Reactor>;

export type ReactorType = keyof typeof reactors;
