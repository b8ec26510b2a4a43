/** Telling the reactors, and the words and errors they are told in. */
import { describeError, StageError } from '../errors.ts';
import { replyText } from '../mail/smtp-reply.ts';
import type { Reactor, RecipientResult, StageFailure } from '../types.ts';

/** Calls every reactor; one that throws is reported on stderr and hides nothing. */
export async function reportToReactors(reactors: Reactor[], failure: StageFailure): Promise<void> {
  for (const reactor of reactors) {
    try {
      await reactor.react(failure);
    } catch (error) {
      process.stderr.write(
        `malist: reactor ${reactor.name} failed while reporting ${failure.stage} ${failure.unit}: ${describeError(error)}\n`,
      );
    }
  }
}

/** "a@x (451 try later), b@y (…)" for the first few recipients. */
export function summarize(results: RecipientResult[]): string {
  const shown = results
    .slice(0, 5)
    .map((r) => `${r.recipient} (${replyText(r.code, r.response) || 'temporary failure'})`);
  return results.length > 5
    ? `${shown.join(', ')} and ${results.length - 5} more`
    : shown.join(', ');
}

export function unitOf(error: unknown, fallback: string): string {
  return error instanceof StageError ? error.unit : fallback;
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(describeError(error));
}
