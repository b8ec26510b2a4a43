/** The static registry of reactors (YAML `type:` → default factory). */
import type { Reactor } from '../types.ts';
import createJsonLog from './json-log.ts';
import createNotifyModerators from './notify-moderators.ts';
import createNotifyPoster from './notify-poster.ts';
import createQuarantine from './quarantine.ts';
import createStderrLogger from './stderr-logger.ts';

export const reactors = {
  'stderr-logger': createStderrLogger,
  'json-log': createJsonLog,
  'notify-poster': createNotifyPoster,
  'notify-moderators': createNotifyModerators,
  quarantine: createQuarantine,
} satisfies Record<string, (options: never) => Reactor>;

export type ReactorType = keyof typeof reactors;
