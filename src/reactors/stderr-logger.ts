/**
 * `type: stderr-logger` — one line per failure or signal on standard error, for cron mail
 * and terminals: when, which stage and unit, which message, what happened.
 */
import type { Writable } from 'node:stream';
import { z } from 'zod';
import { describeError, isSignal } from '../errors.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import { isoTime } from '../mail/iso-time.ts';
import { messageId } from '../mail/list-mail.ts';
import { optionalBoolean } from '../mail/shared-options.ts';
import type { Reactor, StageFailure } from '../types.ts';

export interface StderrLoggerOptions {
  /** Where to write. @default process.stderr */
  output?: Writable;
  /** Also log signals (held, rejected, discarded), not only failures. @default true */
  signals?: boolean;
}

/** The one-line form of a failure, shared by loggers. */
export function formatFailure(failure: StageFailure): string {
  const id = failure.mail ? messageId(failure.mail) : undefined;
  const list = failure.mail?.ml_list_name ? ` list=${failure.mail.ml_list_name}` : '';
  const what = isSignal(failure.error) ? failure.error.kind : 'error';
  const text = describeError(failure.error).replace(/[\r\n]+/g, ' ');
  return `${failure.stage}/${failure.unit} ${what}${list}${id ? ` <${id}>` : ''}: ${text}`;
}

/** The options of `type: stderr-logger` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = lazySchema(() => z.strictObject({ signals: optionalBoolean }));

export default function createStderrLogger(options: StderrLoggerOptions = {}): Reactor {
  const output = options.output ?? process.stderr;
  return {
    name: 'stderr-logger',
    react(failure) {
      if (isSignal(failure.error) && options.signals === false) return;
      output.write(`${isoTime(Date.now())} malist ${formatFailure(failure)}\n`);
    },
  };
}
