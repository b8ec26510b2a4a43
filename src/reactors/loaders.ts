/**
 * The reactors by YAML `type:`, each loaded only when a configuration names it. The same
 * names as the eager registry in index.ts (a test holds them equal).
 */
import type { Reactor, UnitLoader } from '../types.ts';

export const reactorLoaders = {
  'stderr-logger': () => import('./stderr-logger.ts'),
  'json-log': () => import('./json-log.ts'),
  'notify-poster': () => import('./notify-poster.ts'),
  'notify-moderators': () => import('./notify-moderators.ts'),
  quarantine: () => import('./quarantine.ts'),
} satisfies Record<string, UnitLoader<(options: never) => Reactor>>;
