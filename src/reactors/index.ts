/** The static registry of reactors (YAML `type:` → default factory). */
import type { Reactor } from '../types.ts';
import createStderrLogger from './stderr-logger.ts';

export const reactors = {
  'stderr-logger': createStderrLogger,
} satisfies Record<string, (options: never) => Reactor>;

export type ReactorType = keyof typeof reactors;
