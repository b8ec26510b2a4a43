/**
 * `type: json-log` — one JSON object per line for every failure and signal, for log
 * shippers and `jq`: time, stage, unit, kind (error | hold | reject | discard), list,
 * Message-ID, code and message. Appends to `file`, or writes to standard error.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { z } from 'zod';
import { describeError, isSignal, StageError } from '../errors.ts';
import { isoTime } from '../mail/iso-time.ts';
import { messageId } from '../mail/list-mail.ts';
import type { Reactor, StageFailure } from '../types.ts';

export interface JsonLogOptions {
  /** Append here (created with its directory). @default standard error */
  file?: string;
  /** Also log signals (held, rejected, discarded), not only failures. @default true */
  signals?: boolean;
  /** Where to write when there is no `file` (tests). @default process.stderr */
  output?: Writable;
}

/** The options as YAML writes them. */
export const schema = z.strictObject({
  file: z.string().min(1).optional(),
  signals: z.boolean().optional(),
});

/** The record of one failure; never holds the mail's bytes or any secret. */
export function failureRecord(failure: StageFailure, now = new Date()): Record<string, unknown> {
  const { error, mail } = failure;
  return {
    time: isoTime(now.getTime()),
    stage: failure.stage,
    unit: failure.unit,
    kind: isSignal(error) ? error.kind : 'error',
    ...(mail?.ml_list_name ? { list: mail.ml_list_name } : {}),
    ...(mail && messageId(mail) ? { message_id: messageId(mail) } : {}),
    ...(error instanceof StageError ? { code: error.code, temporary: error.temporary } : {}),
    message: describeError(error),
  };
}

/** A reactor writing one JSON line per failure (and signal, unless `signals: false`). */
export default function createJsonLog(options: JsonLogOptions = {}): Reactor {
  const output = options.output ?? process.stderr;
  let madeDir = false;
  return {
    name: 'json-log',
    async react(failure) {
      if (isSignal(failure.error) && options.signals === false) return;
      const line = `${JSON.stringify(failureRecord(failure))}\n`;
      if (!options.file) {
        output.write(line);
        return;
      }
      if (!madeDir) {
        await mkdir(dirname(options.file), { recursive: true });
        madeDir = true;
      }
      // One write per line with O_APPEND: concurrent runs interleave whole lines.
      await appendFile(options.file, line, { mode: 0o640 });
    },
  };
}
