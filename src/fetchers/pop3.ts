/**
 * `type: pop3` — mail from a POP3 mailbox, never lost and never handled twice:
 * - UIDL lists the mail; RETR streams each message byte-exact to a temp file (pop3-session);
 * - `ack()` first records the UID durably, then sends DELE; `close()` sends QUIT, which is
 *   when the server really deletes. A session that dies before QUIT rolls its DELEs back,
 *   so the next session finds the UIDs in the record, does not hand them out again, and
 *   deletes them. A UID leaves the record once it has left UIDL.
 * - oversized mail (by LIST, and again while streaming) is left on the server and reported
 *   after all other mail, so it never blocks the mailbox.
 */
import { readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { goneError, type NetErrorContext, NothingMore, StageError } from '../errors.ts';
import { createListMail } from '../mail/list-mail.ts';
import { safeName } from '../state/safe-name.ts';
import { UID_LIST, UidRecord } from '../state/uid-record.ts';
import { crashPoint } from '../testing/crash-point.ts';
import type { Fetched, Fetcher } from '../types.ts';
import { makeDownloadDir } from './download-dir.ts';
import {
  camelOptions,
  checkMailboxOptions,
  mailboxDeprecations,
  mailboxServerSchema,
} from './mailbox-options.ts';
import { readCaFile, reconnectPause, serverAddress } from './mailbox-server.ts';
import { Pop3Session, Pop3StepError, type Pop3TlsMode } from './pop3-session.ts';

export interface Pop3Options {
  /** Server host name or address. */
  host: string;
  /** Server port. @default 995 with `tls: implicit`, else 110 */
  port?: number;
  /**
   * `implicit`: TLS from the first byte (pop3s); `starttls`: plain connection upgraded with
   * STLS before login; `none`: no TLS (the password crosses the network in clear).
   * @default 'starttls'
   */
  tls?: Pop3TlsMode;
  /** PEM file of the CA to trust for the server certificate (e.g. a self-signed one). @default the system CAs */
  caFile?: string;
  /** Name to check the server certificate against. @default host */
  servername?: string;
  /** false: accept any certificate (tests only). @default true */
  rejectUnauthorized?: boolean;
  /** Login name. */
  user: string;
  /** Password, already resolved by the config layer (password_env / password_file). Never logged. */
  password: string;
  /** Directory for the record of handled UIDs (`<stateDir>/pop3/<user@host:port>.json`). */
  stateDir: string;
  /** Larger mail is left on the server and reported. @default 50 MiB */
  maxMailSize?: number;
  /** Where messages are streamed while they download. @default os.tmpdir() */
  tmpDir?: string;
  /** Milliseconds the server may take to answer before the connection counts as dead. @default 60000 */
  timeout?: number;
  /** How many times a lost connection is re-opened in one session. @default 3 */
  reconnects?: number;
}

const UNIT = 'pop3';

interface Entry {
  n: number;
  uid: string;
  size: number;
}

/** One fetcher's state from the first `fetch()` to `close()`: what every step reads and changes. */
interface Pop3State {
  readonly options: Pop3Options;
  readonly port: number;
  readonly tls: Pop3TlsMode;
  readonly maxMailSize: number;
  readonly reconnects: number;
  readonly ctx: NetErrorContext & { where: string };
  /** The UIDs handled (acked) whose deletion may not have been committed yet. */
  readonly record: UidRecord<string, 'acked'>;
  /** UIDs handed out in this session (across reconnects): never handed out again. */
  readonly handedOut: Set<string>;
  session?: Pop3Session;
  /** Mail still to hand out; undefined until the first listing. */
  queue?: Entry[];
  oversized: Entry[];
  workDir?: string;
  closed: boolean;
}

function checkOptions(options: Pop3Options): void {
  checkMailboxOptions(UNIT, options);
}

/** The options of `type: pop3` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z.strictObject(mailboxServerSchema).transform(camelOptions);

/** The older `tls: true | false`, with its new spelling. */
export const deprecated = mailboxDeprecations;

/** A POP3 fetcher; one session from the first `fetch()` to `close()`. */
export default function createPop3Fetcher(options: Pop3Options): Fetcher {
  checkOptions(options);
  const state = newState(options);
  return {
    name: UNIT,
    fetch: () => fetchNext(state),
    close: () => close(state),
  };
}

function newState(options: Pop3Options): Pop3State {
  const { tls, port, where } = serverAddress(UNIT, options, { implicit: 995, plain: 110 });
  const recordPath = join(
    options.stateDir,
    'pop3',
    `${safeName(`${options.user}@${options.host}:${port}`)}.json`,
  );
  return {
    options,
    port,
    tls,
    maxMailSize: options.maxMailSize ?? 50 * 1024 * 1024,
    reconnects: options.reconnects ?? 3,
    ctx: { unit: UNIT, where },
    record: new UidRecord(recordPath, UNIT, UID_LIST),
    handedOut: new Set(),
    oversized: [],
    closed: false,
  };
}

async function open(state: Pop3State): Promise<Pop3Session> {
  const { options } = state;
  const ca = options.caFile ? await readCaFile(options.caFile, UNIT) : undefined;
  try {
    return await Pop3Session.open({
      host: options.host,
      port: state.port,
      tls: state.tls,
      user: options.user,
      password: options.password,
      ca,
      servername: options.servername,
      ...(options.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
      timeout: options.timeout ?? 60_000,
    });
  } catch (error) {
    throw sessionError(state, error);
  }
}

/** Names what went wrong in a session step: credentials, STLS, or the network. */
function sessionError(state: Pop3State, error: unknown): StageError {
  if (error instanceof StageError) return error;
  const { where } = state.ctx;
  const step = error instanceof Pop3StepError ? error.step : 'command';
  const cause = error instanceof Pop3StepError && error.cause ? error.cause : error;
  if (step === 'auth') {
    return new StageError(
      `${where} refused the login of ${state.options.user} (${(cause as Error)?.message ?? cause}): ` +
        'check `user` and the password.',
      { code: 'EAUTH', unit: UNIT, cause },
    );
  }
  if (step === 'stls') {
    return new StageError(
      `${where} refused STLS (${(cause as Error)?.message ?? cause}): ` +
        'use `tls: implicit` on the pop3s port, or `tls: none` if you accept a clear-text password.',
      { code: 'ETLS', unit: UNIT, cause },
    );
  }
  return goneError(cause, state.ctx);
}

async function start(state: Pop3State): Promise<void> {
  await state.record.load();
  const session = await open(state);
  state.session = session;
  try {
    await list(state, session);
  } catch (error) {
    // A half-started session is dropped (its DELEs roll back); the next fetch() starts anew.
    session.destroy();
    state.session = undefined;
    state.queue = undefined;
    throw error instanceof StageError ? error : sessionError(state, error);
  }
  state.workDir ??= await makeDownloadDir(state.options.tmpDir ?? tmpdir(), UNIT);
}

/**
 * A new session after the connection was lost: its DELEs rolled back, but every acked UID
 * is in the record, so list() deletes them again and hands out only what is left.
 */
async function reopen(state: Pop3State, cause: StageError): Promise<void> {
  state.session?.destroy();
  state.session = undefined;
  let last = cause;
  for (let attempt = 0; attempt < state.reconnects; attempt++) {
    await reconnectPause(attempt);
    try {
      await start(state);
      return;
    } catch (error) {
      last = error instanceof StageError ? error : sessionError(state, error);
      if (last.code !== 'ECONNECTION') throw last;
    }
  }
  throw last;
}

async function list(state: Pop3State, live: Pop3Session): Promise<void> {
  const uids = await live.uidl();
  const sizes = await live.list();
  // Pruned: a UID that left UIDL is deleted for good and can never come back.
  await state.record.keepOnly(new Set(uids.values()));

  const fresh: Entry[] = [];
  const big: Entry[] = [];
  for (const [n, uid] of [...uids].sort((a, b) => a[0] - b[0])) {
    if (state.record.has(uid)) {
      // Handled in a session that died before QUIT: delete again, never hand out again.
      await live.dele(n).catch(() => {});
      continue;
    }
    // Handed out earlier in this session but not acked: kept, not handed out again.
    if (state.handedOut.has(uid)) continue;
    const entry = { n, uid, size: sizes.get(n) ?? 0 };
    (entry.size > state.maxMailSize ? big : fresh).push(entry);
  }
  state.queue = fresh;
  state.oversized = big;
}

async function download(state: Pop3State, entry: Entry, live: Pop3Session): Promise<Buffer> {
  const { maxMailSize } = state;
  const path = join(state.workDir!, `${entry.n}.eml`);
  try {
    await live.retrieveToFile(entry.n, path, maxMailSize);
    // The finished file becomes one Buffer (createListMail needs one); the download
    // itself never held more than the stream's buffers in memory.
    return await readFile(path);
  } catch (error) {
    if (error instanceof Pop3StepError && error.step === 'size') {
      throw new StageError(
        `message ${entry.uid} is larger than maxMailSize (${maxMailSize} bytes) although LIST ` +
          `said ${entry.size}; left on the server`,
        { code: 'ESIZE', unit: UNIT, cause: error },
      );
    }
    throw sessionError(state, error);
  } finally {
    await unlink(path).catch(() => {});
  }
}

async function fetchNext(state: Pop3State): Promise<Fetched> {
  if (state.closed)
    throw new StageError('fetch() after close()', { code: 'EPROTOCOL', unit: UNIT });
  if (!state.queue) await start(state);
  else if (!state.session?.alive)
    await reopen(state, goneError(new Error('the connection was lost'), state.ctx));
  // Bounded: a server that dies on every attempt at a message ends the run.
  for (let attempt = 0; ; attempt++) {
    const live = state.session!;
    const entry = nextEntry(state);
    let raw: Buffer;
    try {
      raw = await download(state, entry, live);
    } catch (error) {
      const lost = error instanceof StageError && error.code === 'ECONNECTION';
      if (!lost || state.closed || attempt >= state.reconnects) throw error;
      // Lost mid-message: a new session lists it again (it was not handed out).
      await reopen(state, error);
      continue;
    }
    state.handedOut.add(entry.uid);
    return handOut(state, entry, raw, live);
  }
}

/** The next mail to download; the oversized ones are reported once all others went. */
function nextEntry(state: Pop3State): Entry {
  const entry = state.queue!.shift();
  if (entry) return entry;
  const big = state.oversized.shift();
  if (big) {
    throw new StageError(
      `message ${big.uid} is ${big.size} bytes, over maxMailSize (${state.maxMailSize}); ` +
        'left on the server: raise maxMailSize or remove it by hand.',
      { code: 'ESIZE', unit: UNIT },
    );
  }
  throw new NothingMore();
}

function handOut(state: Pop3State, entry: Entry, raw: Buffer, live: Pop3Session): Fetched {
  const mail = createListMail(raw, { fetcher: UNIT, id: `pop3:${entry.uid}` });
  let acked = false;
  return {
    mail,
    async ack() {
      if (acked) return;
      // Recorded first: from here on the mail counts as removed, whatever happens next.
      await state.record.mark(entry.uid, 'acked');
      acked = true;
      crashPoint('pop3.after-record');
      // A failed DELE is repeated by the next session, which finds the UID recorded.
      await live.dele(entry.n).catch(() => {});
      crashPoint('pop3.after-dele');
    },
  };
}

async function close(state: Pop3State): Promise<void> {
  if (state.closed) return;
  state.closed = true;
  const live = state.session;
  state.session = undefined;
  try {
    if (live?.alive) {
      crashPoint('pop3.before-quit');
      // If QUIT fails the DELEs roll back; the record makes the next session redo them.
      await live.quit().catch(() => {});
    }
  } finally {
    live?.destroy();
    if (state.workDir) await rm(state.workDir, { recursive: true, force: true });
  }
}
