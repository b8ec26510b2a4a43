/** The two middle stages over one mail: its processors, then its distributors. */
import { describeError, isSignal, StageError } from '../errors.ts';
import { messageId } from '../mail/list-mail.ts';
import type {
  DeliveryReport,
  Distributor,
  ListMail,
  Processor,
  RecipientResult,
} from '../types.ts';

export function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Runs the processors in order over every copy; a copy that carries a signal passes through. */
export async function runProcessors(processors: Processor[], mail: ListMail): Promise<ListMail[]> {
  let copies = [mail];
  for (const processor of processors) {
    const next: ListMail[] = [];
    for (const copy of copies) {
      if (copy.ml_signal) {
        next.push(copy);
        continue;
      }
      try {
        next.push(...asArray(await processor.process(copy)));
      } catch (error) {
        if (isSignal(error) && !error.unit) error.unit = processor.name;
        if (isSignal(error) || error instanceof StageError) throw error;
        throw new StageError(`unexpected error: ${describeError(error)}`, {
          code: 'EUNIT',
          unit: processor.name,
          messageId: messageId(copy),
          cause: error,
        });
      }
    }
    copies = next;
  }
  return copies;
}

/** Runs every distributor; merges their reports. A distributor that throws is rethrown after the others ran. */
export async function runDistributors(
  distributors: Distributor[],
  mail: ListMail,
): Promise<DeliveryReport> {
  const results: RecipientResult[] = [];
  let firstError: unknown;
  for (const distributor of distributors) {
    try {
      results.push(...(await distributor.distribute(mail)).results);
    } catch (error) {
      firstError ??=
        error instanceof StageError
          ? error
          : new StageError(describeError(error), {
              code: 'EUNIT',
              unit: distributor.name,
              messageId: messageId(mail),
              cause: error,
            });
    }
  }
  if (firstError !== undefined) throw firstError;
  return { results };
}
