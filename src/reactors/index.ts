/** The static registry of reactors (YAML `type:` → default factory). */
import type { Reactor, UnitModule } from '../types.ts';
import * as jsonLog from './json-log.ts';
import * as notifyModerators from './notify-moderators.ts';
import * as notifyPoster from './notify-poster.ts';
import * as quarantine from './quarantine.ts';
import * as stderrLogger from './stderr-logger.ts';

export const reactors = {
  'stderr-logger': stderrLogger,
  'json-log': jsonLog,
  'notify-poster': notifyPoster,
  'notify-moderators': notifyModerators,
  quarantine: quarantine,
} satisfies Record<string, UnitModule<(options: never) => Reactor>>;

export type ReactorType = keyof typeof reactors;
