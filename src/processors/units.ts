/**
 * The static registry of a list's processor units: the name used in a list's `pipeline:`
 * → its factory, which takes the list's settings and the unit's own options.
 */
import type { Processor } from '../types.ts';
import createEnvelope from './envelope.ts';
import type { ListSettings } from './list.ts';
import createPostingPolicy from './posting-policy.ts';
import createSubjectPrefix from './subject-prefix.ts';

export type UnitFactory = (list: ListSettings, options: never) => Processor;

export const units = {
  'posting-policy': createPostingPolicy,
  'subject-prefix': createSubjectPrefix,
  envelope: createEnvelope,
} satisfies Record<string, UnitFactory>;

export type UnitName = keyof typeof units;

/** A pipeline entry: a unit name, or a name with options (`{ type: subject-prefix, position: after-re }`). */
export type UnitSpec = string | ({ type: string } & Record<string, unknown>);

/** The default pipeline of a list: data, overridable per list in YAML. */
export const DEFAULT_PIPELINE = [
  'posting-policy',
  'subject-prefix',
  'envelope',
] as const satisfies readonly UnitName[];

/** Builds one unit; unknown names are a configuration error naming the choices. */
export function buildUnit(
  list: ListSettings,
  spec: UnitSpec,
  registry: Record<string, UnitFactory> = units,
): Processor {
  const { type, ...options } = typeof spec === 'string' ? { type: spec } : spec;
  const factory = registry[type];
  if (!factory) {
    throw new Error(
      `list ${list.name}: unknown pipeline unit '${type}'; known units: ${Object.keys(registry).join(', ')}`,
    );
  }
  return (factory as (list: ListSettings, options: Record<string, unknown>) => Processor)(
    list,
    options,
  );
}
