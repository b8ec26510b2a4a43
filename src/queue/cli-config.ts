/**
 * The queue and SMTP settings for `malist queue` and `malist sendmail`: from the command
 * line, or from the `queue:` and `smtp:` sections of `malist.yaml` in `--config DIR`.
 * A stop-gap reader for these two sections only; the config loader proper validates the
 * whole file and can hand its typed objects to the same factories.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { SmtpOptions } from '../distributors/smtp.ts';
import { ErrorCode, StageError } from '../errors.ts';
import type { QueueOptions } from './queue.ts';

export interface QueueCliSettings {
  queue: QueueOptions;
  smtp: SmtpOptions;
}

export interface QueueCliFlags {
  spool?: string;
  config?: string;
  smtp?: string;
}

function problem(message: string): StageError {
  return new StageError(message, { code: ErrorCode.CONFIG, unit: 'queue' });
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw problem(`${where} must be a mapping`);
  return value as Record<string, unknown>;
}

/** Resolves `password_env` / `password_file` into `pass`; the secret never enters a message. */
function resolveAuth(auth: Record<string, unknown>, where: string): SmtpOptions['auth'] {
  if (Object.keys(auth).length === 0) return undefined;
  const user = auth.user;
  if (typeof user !== 'string') throw problem(`${where}.user must be a string`);
  let pass: string | undefined;
  if (typeof auth.password_env === 'string') {
    pass = process.env[auth.password_env];
    if (pass === undefined)
      throw problem(`${where}.password_env names ${auth.password_env}, which is not set`);
  } else if (typeof auth.password_file === 'string') {
    try {
      pass = readFileSync(auth.password_file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new StageError(`${where}.password_file ${auth.password_file} cannot be read`, {
        code: ErrorCode.CONFIG,
        unit: 'queue',
        cause: error,
      });
    }
  } else {
    throw problem(`${where} needs password_env or password_file (passwords never sit in YAML)`);
  }
  return { user, pass, ...(typeof auth.method === 'string' ? { method: auth.method } : {}) };
}

/** Settings from flags and `--config DIR/malist.yaml`; flags win. */
export function loadQueueSettings(flags: QueueCliFlags): QueueCliSettings {
  let fileQueue: Record<string, unknown> = {};
  let fileSmtp: Record<string, unknown> = {};
  let stateDir: string | undefined;
  if (flags.config) {
    const path = join(flags.config, 'malist.yaml');
    let doc: Record<string, unknown>;
    try {
      doc = record(parse(readFileSync(path, 'utf8')), path);
    } catch (error) {
      if (error instanceof StageError) throw error;
      throw new StageError(`cannot read ${path}`, {
        code: ErrorCode.CONFIG,
        unit: 'queue',
        cause: error,
      });
    }
    fileQueue = record(doc.queue, `${path}: queue`);
    fileSmtp = record(doc.smtp, `${path}: smtp`);
    const state = doc.state_dir ?? doc.state;
    if (typeof state === 'string') stateDir = join(flags.config, state);
  }
  const dir =
    flags.spool ??
    (typeof fileQueue.dir === 'string' ? join(flags.config ?? '.', fileQueue.dir) : undefined) ??
    (stateDir ? join(stateDir, 'queue') : undefined) ??
    process.env.MALIST_SPOOL;
  if (!dir)
    throw problem('no spool directory: give --spool DIR, --config DIR, or set MALIST_SPOOL');
  const { auth, ...smtpRest } = fileSmtp;
  const smtp: SmtpOptions = { ...(smtpRest as SmtpOptions) };
  const resolved = resolveAuth(record(auth, 'smtp.auth'), 'smtp.auth');
  if (resolved) smtp.auth = resolved;
  if (flags.smtp) {
    const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(flags.smtp);
    if (!match) throw problem(`--smtp ${flags.smtp}: expected HOST or HOST:PORT`);
    smtp.host = match[1]?.replace(/^\[|\]$/g, '');
    if (match[2]) smtp.port = Number(match[2]);
  }
  return { queue: { ...(fileQueue as Partial<QueueOptions>), dir }, smtp };
}
