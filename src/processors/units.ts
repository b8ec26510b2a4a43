/**
 * The static registry of a list's processor units: the name used in a list's `pipeline:`
 * → its factory, which takes the list's settings and the unit's own options.
 */

import type { ListSettings } from '../list/settings.ts';
import type { Processor } from '../types.ts';
import createApproved from './approved.ts';
import createContentFilter from './content-filter.ts';
import createDmarc from './dmarc.ts';
import createEnvelope from './envelope.ts';
import createExplicitDestination from './explicit-destination.ts';
import createFooter from './footer.ts';
import createListHeaders from './list-headers.ts';
import createLoopGuard from './loop-guard.ts';
import createMaxRecipients from './max-recipients.ts';
import createMaxSize from './max-size.ts';
import createPostingPolicy from './posting-policy.ts';
import createReplyTo from './reply-to.ts';
import createStripHeaders from './strip-headers.ts';
import createSubjectPrefix from './subject-prefix.ts';

export type UnitFactory = (list: ListSettings, options: never) => Processor;

export const units = {
  'loop-guard': createLoopGuard,
  approved: createApproved,
  'posting-policy': createPostingPolicy,
  'max-size': createMaxSize,
  'max-recipients': createMaxRecipients,
  'explicit-destination': createExplicitDestination,
  'content-filter': createContentFilter,
  'strip-headers': createStripHeaders,
  'subject-prefix': createSubjectPrefix,
  'reply-to': createReplyTo,
  dmarc: createDmarc,
  footer: createFooter,
  'list-headers': createListHeaders,
  envelope: createEnvelope,
} satisfies Record<string, UnitFactory>;

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
  registry: Record<string, UnitFactory> = units,
): Processor {
  const { type, ...inline } = typeof spec === 'string' ? { type: spec } : spec;
  const factory = registry[type];
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
