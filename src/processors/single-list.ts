/**
 * `type: single-list` — one list's pipeline (pymalist's SingleListProcessor, grown up):
 * its units run in order over the mail; a signal from any unit stops the pipeline and
 * carries that unit's name.
 */
import { isSignal, StageError } from '../errors.ts';
import type { ListSettings } from '../list/settings.ts';
import { messageId } from '../mail/list-mail.ts';
import type { ListMail, Processor, UnitModule } from '../types.ts';
import { buildUnit, DEFAULT_PIPELINE, type UnitFactory, type UnitSpec, units } from './units.ts';

export interface SingleListOptions extends ListSettings {
  /** The units to run, by name, in order. @default DEFAULT_PIPELINE */
  pipeline?: UnitSpec[];
  /** Extra units (custom code) by name, next to the built-in registry. */
  extraUnits?: Record<string, UnitModule<UnitFactory>>;
}

export interface SingleList extends Processor {
  readonly list: ListSettings;
  readonly units: readonly Processor[];
  process(mail: ListMail): Promise<ListMail>;
}

export default function createSingleList(options: SingleListOptions): SingleList {
  if (!options?.address) throw new Error('single-list: `address` is required');
  if (!options.name) throw new Error('single-list: `name` is required');
  const { pipeline, extraUnits, ...list } = options;
  const registry = extraUnits ? { ...units, ...extraUnits } : units;
  const steps = (pipeline ?? [...DEFAULT_PIPELINE]).map((spec) => buildUnit(list, spec, registry));
  return {
    name: 'single-list',
    list,
    units: steps,
    async process(mail: ListMail): Promise<ListMail> {
      let current = mail;
      current.ml_list_name = list.name;
      for (const unit of steps) {
        try {
          const out = await unit.process(current);
          if (Array.isArray(out)) throw new Error('a list unit must return one mail');
          current = out;
        } catch (error) {
          if (isSignal(error)) {
            error.unit ||= unit.name;
            throw error;
          }
          if (error instanceof StageError) throw error;
          throw new StageError(
            `list ${list.name}: ${error instanceof Error ? error.message : String(error)}`,
            {
              code: 'EUNIT',
              unit: unit.name,
              messageId: messageId(current),
              cause: error,
            },
          );
        }
      }
      return current;
    },
  };
}
