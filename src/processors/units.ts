/**
 * The static registry of a list's processor units: the name used in a list's `pipeline:`
 * → the unit's module (its default factory, which takes the list's settings and the unit's
 * own options, and the `schema` of those options). A new unit is its file, its test and one
 * line here.
 */

import type { ListSettings } from '../list/settings.ts';
import type { Processor, UnitModule } from '../types.ts';
import * as approved from './approved.ts';
import * as contentFilter from './content-filter.ts';
import * as dmarc from './dmarc.ts';
import * as emergency from './emergency.ts';
import * as envelope from './envelope.ts';
import * as explicitDestination from './explicit-destination.ts';
import * as footer from './footer.ts';
import * as listHeaders from './list-headers.ts';
import * as loopGuard from './loop-guard.ts';
import * as maxRecipients from './max-recipients.ts';
import * as maxSize from './max-size.ts';
import * as postingPolicy from './posting-policy.ts';
import * as replyTo from './reply-to.ts';
import * as stripHeaders from './strip-headers.ts';
import * as subjectPrefix from './subject-prefix.ts';

export type UnitFactory = (list: ListSettings, options: never) => Processor;

export const units = {
  'loop-guard': loopGuard,
  approved: approved,
  emergency: emergency,
  'posting-policy': postingPolicy,
  'max-size': maxSize,
  'max-recipients': maxRecipients,
  'explicit-destination': explicitDestination,
  'content-filter': contentFilter,
  'strip-headers': stripHeaders,
  'subject-prefix': subjectPrefix,
  'reply-to': replyTo,
  dmarc: dmarc,
  footer: footer,
  'list-headers': listHeaders,
  envelope: envelope,
} satisfies Record<string, UnitModule<UnitFactory>>;

export type UnitName = keyof typeof units;

/** A pipeline entry: a unit name, or a name with options (`{ type: subject-prefix, position: after-re }`). */
export type UnitSpec = string | ({ type: string } & Record<string, unknown>);

/**
 * The default pipeline of a list, in Mailman's order: refuse loops and robots first, then
 * decide who may post (pre-approval, policy, limits), filter content, then rewrite
 * (strip, subject, Reply-To, DMARC, footer, List-* fields) and address the copy. DMARC goes
 * before the footer so a wrapped post stays intact inside and the footer goes outside.
 * `content-filter` and `dmarc` do nothing until configured. Data, overridable per list in YAML.
 */
export const DEFAULT_PIPELINE = [
  'loop-guard',
  'approved',
  'emergency',
  'posting-policy',
  'max-size',
  'max-recipients',
  'explicit-destination',
  'content-filter',
  'strip-headers',
  'subject-prefix',
  'reply-to',
  'dmarc',
  'footer',
  'list-headers',
  'envelope',
] as const satisfies readonly UnitName[];

/**
 * Builds one unit; unknown names are a configuration error naming the choices. Options
 * come from the list's `unit_options[name]`, overridden by those given in the entry itself.
 */
export function buildUnit(
  list: ListSettings,
  spec: UnitSpec,
  registry: Record<string, UnitModule<UnitFactory>> = units,
): Processor {
  const { type, ...inline } = typeof spec === 'string' ? { type: spec } : spec;
  const factory = registry[type]?.default;
  if (!factory) {
    throw new Error(
      `list ${list.name}: unknown pipeline unit '${type}'; known units: ${Object.keys(registry).join(', ')}`,
    );
  }
  const options = { ...list.unit_options?.[type], ...inline };
  return (factory as (list: ListSettings, options: Record<string, unknown>) => Processor)(
    list,
    options,
  );
}
