/**
 * `type: imap` — mail from an IMAP mailbox, never lost and never handled twice:
 * - the mailbox is locked (imapflow's lock, with a timeout), its UIDs listed once, and each
 *   message downloaded as a stream into a temp file; no command ever runs inside a FETCH;
 * - `ack()` records (UIDVALIDITY, UID) durably, then moves the message to `moveTo` (MOVE, or
 *   COPY, check, then \Deleted) or flags it \Deleted and removes it with UID EXPUNGE
 *   (UIDPLUS). Without UIDPLUS it stays flagged: a bare EXPUNGE would also remove other
 *   clients' deleted mail. The record keeps such a message from being handed out again, and
 *   lets a session after a crash finish a removal that was cut short;
 * - a new UIDVALIDITY makes every recorded UID meaningless: the record starts over;
 * - a dropped connection is reconnected (a few times) before the fetcher gives up;
 * - oversized mail is left in place and reported after all other mail.
 */
import { createWriteStream } from 'node:fs';
import { readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ImapFlow, MailboxLockObject } from 'imapflow';
import { z } from 'zod';
import { goneError, NothingMore, StageError } from '../errors.ts';
import {
  type ImapTlsMode,
  imapClientOptions,
  imapError,
  loadImapFlow,
  uidSet,
} from '../imap/session.ts';
import { createListMail } from '../mail/list-mail.ts';
import { safeName } from '../state/safe-name.ts';
import { type ImapUidState, UID_STATES, UidRecord } from '../state/uid-record.ts';
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

export type { ImapTlsMode };

export interface ImapOptions {
  /** Server host name or address. */
  host: string;
  /** Server port. @default 993 with `tls: implicit`, else 143 */
  port?: number;
  /**
   * `implicit`: TLS from the first byte (imaps); `starttls`: plain connection upgraded with
   * STARTTLS before login (required: no silent fallback to clear text); `none`: no TLS.
   * @default 'starttls'
   */
  tls?: ImapTlsMode;
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
  /** The mailbox to fetch from. @default 'INBOX' */
  mailbox?: string;
  /** Move handled mail to this folder instead of deleting it. @default undefined (delete) */
  moveTo?: string;
  /** Directory for the record of handled UIDs (`<stateDir>/imap/<user@host:port/mailbox>.json`). */
  stateDir: string;
  /** Larger mail is left in the mailbox and reported. @default 50 MiB */
  maxMailSize?: number;
  /** Where messages are streamed while they download. @default os.tmpdir() */
  tmpDir?: string;
  /** Milliseconds of silence (or of waiting to connect) before the connection counts as dead. @default 60000 */
  timeout?: number;
  /** Milliseconds to wait for the mailbox lock. @default 30000 */
  lockTimeout?: number;
  /** How many times a dropped connection is re-opened in one session. @default 3 */
  reconnects?: number;
}

const UNIT = 'imap';

interface Entry {
  uid: number;
  size: number;
}

/** One fetcher's state from the first `fetch()` to `close()`: what every step reads and changes. */
interface ImapState {
  readonly options: ImapOptions;
  readonly mailbox: string;
  readonly maxMailSize: number;
  readonly reconnects: number;
  /** For errors: the server, the login, the mailbox. */
  readonly ctx: { where: string; user: string; mailbox: string };
  readonly record: UidRecord<number, ImapUidState>;
  /** (UIDVALIDITY:UID) handed out in this session: never handed out again. */
  readonly handedOut: Set<string>;
  client?: ImapFlow;
  lock?: MailboxLockObject;
  uidValidity: string;
  /** Mail still to hand out; undefined until the first listing. */
  queue?: Entry[];
  oversized: Entry[];
  workDir?: string;
  closed: boolean;
  recordLoaded: boolean;
}

function checkOptions(options: ImapOptions): void {
  const fail = checkMailboxOptions(UNIT, options);
  if (options.moveTo !== undefined && !options.moveTo) fail('`moveTo` must name a folder');
}

/** True when the error means the connection is gone (worth a reconnect), not a refusal. */
function isConnectionLoss(error: StageError): boolean {
  return error.code === 'ECONNECTION';
}

/** The options of `type: imap` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z
  .strictObject({
    ...mailboxServerSchema,
    mailbox: z.string().min(1).optional(),
    move_to: z.string().min(1).optional(),
    lock_timeout_ms: z.number().int().positive().optional(),
    reconnects: z.number().int().min(0).optional(),
  })
  .transform(camelOptions);

/** The older `tls: true | false`, with its new spelling. */
export const deprecated = mailboxDeprecations;

/** An IMAP fetcher; one logical session from the first `fetch()` to `close()`. */
export default function createImapFetcher(options: ImapOptions): Fetcher {
  checkOptions(options);
  const state = newState(options);
  return {
    name: UNIT,
    fetch: () => fetchNext(state),
    close: () => close(state),
  };
}

function newState(options: ImapOptions): ImapState {
  const { port, where } = serverAddress(UNIT, options, { implicit: 993, plain: 143 });
  const mailbox = options.mailbox ?? 'INBOX';
  const recordPath = join(
    options.stateDir,
    'imap',
    `${safeName(`${options.user}@${options.host}:${port}/${mailbox}`)}.json`,
  );
  return {
    options,
    mailbox,
    maxMailSize: options.maxMailSize ?? 50 * 1024 * 1024,
    reconnects: options.reconnects ?? 3,
    ctx: { where, user: options.user, mailbox },
    record: new UidRecord(recordPath, UNIT, UID_STATES),
    handedOut: new Set(),
    uidValidity: '',
    oversized: [],
    closed: false,
    recordLoaded: false,
  };
}

/** Logs in, locks the mailbox and checks `moveTo`; the client is kept only when all went well. */
async function connect(state: ImapState): Promise<void> {
  const { options, ctx } = state;
  const ca = options.caFile ? await readCaFile(options.caFile, UNIT) : undefined;
  const c: ImapFlow = new (await loadImapFlow())(imapClientOptions({ ...options, ca }));
  // imapflow emits 'error' once when the connection fails; unheard it would crash us.
  c.on('error', () => {});
  try {
    await c.connect();
  } catch (error) {
    c.close();
    throw imapError(error, ctx);
  }
  try {
    state.lock = await c.getMailboxLock(state.mailbox, {
      acquireTimeout: options.lockTimeout ?? 30_000,
    });
  } catch (error) {
    c.close();
    throw imapError(error, ctx);
  }
  if (options.moveTo) {
    try {
      // Found missing now, not at the first ack: a config error, before any mail is handled.
      await c.status(options.moveTo, { messages: true });
    } catch (error) {
      c.close();
      throw imapError(error, { ...ctx, mailbox: options.moveTo });
    }
  }
  state.client = c;
  const selected = c.mailbox;
  state.uidValidity = selected ? String(selected.uidValidity) : '';
}

/** Lists the mailbox, finishes removals a previous session left, and fills the queue. */
async function list(state: ImapState): Promise<void> {
  const c = state.client!;
  const { record } = state;
  if (!state.recordLoaded) {
    await record.load();
    state.recordLoaded = true;
  }
  // Every recorded UID belonged to the old mailbox: none of them names a message now.
  await record.startOver(state.uidValidity);
  const all = (await c.search({ all: true }, { uid: true })) || [];
  const deleted = new Set((await c.search({ deleted: true }, { uid: true })) || []);
  await record.keepOnly(new Set(all));
  await finishRemovals(state, deleted);
  const fresh = all.filter(
    (uid) =>
      !deleted.has(uid) && !record.has(uid) && !state.handedOut.has(`${state.uidValidity}:${uid}`),
  );
  await fillQueue(state, fresh);
}

/** Completes the removal of every recorded UID that a previous session left half done. */
async function finishRemovals(state: ImapState, deleted: ReadonlySet<number>): Promise<void> {
  const c = state.client!;
  for (const [uid, recorded] of state.record.entries()) {
    // Already flagged and nothing to copy: without UIDPLUS there is nothing more we may do.
    const flagged = deleted.has(uid);
    if (
      flagged &&
      !c.capabilities.has('UIDPLUS') &&
      (!state.options.moveTo || recorded === 'copied')
    ) {
      continue;
    }
    await remove(state, uid, recorded);
  }
}

/** Queues the fresh UIDs in order; the oversized ones (by the server's size) wait apart. */
async function fillQueue(state: ImapState, fresh: number[]): Promise<void> {
  const sizes = new Map<number, number>();
  if (fresh.length > 0) {
    const c = state.client!;
    for (const msg of await c.fetchAll(uidSet(fresh), { uid: true, size: true }, { uid: true })) {
      sizes.set(msg.uid, msg.size ?? 0);
    }
  }
  state.queue = [];
  state.oversized = [];
  for (const uid of fresh.sort((a, b) => a - b)) {
    const entry = { uid, size: sizes.get(uid) ?? 0 };
    (entry.size > state.maxMailSize ? state.oversized : state.queue).push(entry);
  }
}

/** Removes (or moves) one message whose UID is recorded as handled. */
async function remove(state: ImapState, uid: number, recorded: ImapUidState): Promise<void> {
  const c = state.client!;
  const { moveTo } = state.options;
  const range = String(uid);
  const fail = (what: string) =>
    new StageError(`${what} for UID ${uid} failed on ${state.ctx.where}; will retry next session`, {
      code: 'EPROTOCOL',
      unit: UNIT,
      temporary: true,
    });
  if (moveTo && recorded === 'acked') {
    if (c.capabilities.has('MOVE')) {
      if (!(await c.messageMove(range, moveTo, { uid: true }))) throw fail('MOVE');
      crashPoint('imap.after-move');
      return;
    }
    const copied = await c.messageCopy(range, moveTo, { uid: true });
    if (!copied || (copied.uidMap && !copied.uidMap.has(uid))) throw fail('COPY');
    // Recorded, so a crash before the flag does not copy it a second time.
    await state.record.mark(uid, 'copied');
    crashPoint('imap.after-copy');
  }
  if (!(await c.messageFlagsAdd(range, ['\\Deleted'], { uid: true })))
    throw fail('STORE \\Deleted');
  crashPoint('imap.after-flag');
  if (c.capabilities.has('UIDPLUS')) {
    // flag + UID EXPUNGE of this UID only (imapflow uses UID EXPUNGE when UIDPLUS is there)
    if (!(await c.messageDelete(range, { uid: true }))) throw fail('UID EXPUNGE');
    crashPoint('imap.after-expunge');
  }
}

async function start(state: ImapState): Promise<void> {
  await connect(state);
  try {
    await list(state);
  } catch (error) {
    // A half-started session is dropped; the next fetch() starts anew.
    dropClient(state);
    state.queue = undefined;
    throw imapError(error, state.ctx);
  }
  state.workDir ??= await makeDownloadDir(state.options.tmpDir ?? tmpdir(), UNIT);
}

/** Drops a dead client and opens a new session, a few times; the queue is listed again. */
async function reconnect(state: ImapState, cause: StageError): Promise<void> {
  dropClient(state);
  let last = cause;
  for (let attempt = 0; attempt < state.reconnects; attempt++) {
    await reconnectPause(attempt);
    try {
      await connect(state);
      await list(state);
      return;
    } catch (error) {
      last = imapError(error, state.ctx);
      dropClient(state);
      if (!isConnectionLoss(last)) throw last;
    }
  }
  throw last;
}

function dropClient(state: ImapState): void {
  try {
    state.lock?.release();
  } catch {}
  state.lock = undefined;
  state.client?.close();
  state.client = undefined;
}

async function download(state: ImapState, entry: Entry): Promise<Buffer | undefined> {
  const c = state.client!;
  const { maxMailSize } = state;
  const path = join(state.workDir!, `${state.uidValidity}-${entry.uid}.eml`);
  try {
    // Partial fetches of 256 KiB: few round trips, and never more than that in memory.
    const result = await c.download(String(entry.uid), undefined, {
      uid: true,
      chunkSize: 256 * 1024,
    });
    if (!result.content) return undefined; // expunged by another client meanwhile
    await pipeline(
      result.content,
      sizeGuard(maxMailSize),
      createWriteStream(path, { flags: 'w', mode: 0o600 }),
    );
    // One Buffer for createListMail; the download itself held only stream buffers.
    return await readFile(path);
  } catch (error) {
    if ((error as { code?: string }).code === 'ESIZE') {
      throw new StageError(
        `UID ${entry.uid} is larger than maxMailSize (${maxMailSize}) although the server said ${entry.size}; left in ${state.mailbox}`,
        { code: 'ESIZE', unit: UNIT },
      );
    }
    throw imapError(error, state.ctx);
  } finally {
    await unlink(path).catch(() => {});
  }
}

/** Passes the bytes through, failing with code ESIZE once more than `max` went by. */
function sizeGuard(max: number): Transform {
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > max) callback(Object.assign(new Error('too large'), { code: 'ESIZE' }));
      else callback(null, chunk);
    },
  });
}

/** The next mail downloaded; the oversized ones are reported once all others went. */
async function next(state: ImapState): Promise<Fetched> {
  for (;;) {
    const entry = state.queue!.shift();
    if (!entry) {
      const big = state.oversized.shift();
      if (big) {
        throw new StageError(
          `UID ${big.uid} in ${state.mailbox} is ${big.size} bytes, over maxMailSize (${state.maxMailSize}); ` +
            'left in the mailbox: raise maxMailSize or remove it by hand.',
          { code: 'ESIZE', unit: UNIT },
        );
      }
      throw new NothingMore();
    }
    const raw = await download(state, entry);
    if (!raw) continue;
    const validity = state.uidValidity;
    state.handedOut.add(`${validity}:${entry.uid}`);
    const mail = createListMail(raw, {
      fetcher: UNIT,
      id: `imap:${state.mailbox}:${validity}:${entry.uid}`,
    });
    return { mail, ack: () => ack(state, validity, entry.uid) };
  }
}

async function ack(state: ImapState, validity: string, uid: number): Promise<void> {
  if (validity !== state.uidValidity) {
    throw new StageError(
      `UIDVALIDITY of ${state.mailbox} changed since UID ${uid} was fetched: it cannot be removed and will be fetched again`,
      { code: 'EPROTOCOL', unit: UNIT },
    );
  }
  if (state.record.has(uid)) return;
  await state.record.mark(uid, 'acked');
  crashPoint('imap.after-record');
  try {
    if (state.client?.usable) {
      await remove(state, uid, 'acked');
      return;
    }
  } catch (error) {
    // Recorded: a later session completes the removal; the mail is not handed out again.
    const failure = imapError(error, state.ctx);
    if (!isConnectionLoss(failure) || state.client?.usable) throw failure;
  }
  // A new session's list() finishes the removal of every recorded UID, this one included.
  await reconnect(state, lostError(state));
}

function lostError(state: ImapState): StageError {
  return goneError(new Error('connection lost'), { unit: UNIT, where: state.ctx.where });
}

async function fetchNext(state: ImapState): Promise<Fetched> {
  if (state.closed)
    throw new StageError('fetch() after close()', { code: 'EPROTOCOL', unit: UNIT });
  if (!state.queue) await start(state);
  else if (!state.client?.usable) await reconnect(state, lostError(state));
  try {
    return await next(state);
  } catch (error) {
    if (!(error instanceof StageError) || !isConnectionLoss(error) || state.client?.usable)
      throw error;
    await reconnect(state, error);
    return next(state);
  }
}

async function close(state: ImapState): Promise<void> {
  if (state.closed) return;
  state.closed = true;
  const c = state.client;
  try {
    state.lock?.release();
  } catch {}
  state.lock = undefined;
  state.client = undefined;
  if (c?.usable) {
    // LOGOUT, but a server that stopped answering must not hold close() up.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      c.logout().catch(() => {}),
      new Promise((resolve) => {
        timer = setTimeout(resolve, Math.min(state.options.timeout ?? 60_000, 5000));
      }),
    ]);
    clearTimeout(timer);
  }
  c?.close();
  if (state.workDir) await rm(state.workDir, { recursive: true, force: true });
}
