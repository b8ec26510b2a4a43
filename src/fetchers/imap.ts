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
import { NothingMore, StageError } from '../errors.ts';
import {
  type ImapTlsMode,
  imapClientOptions,
  imapError,
  loadImapFlow,
  uidSet,
} from '../imap/session.ts';
import { createListMail } from '../mail/list-mail.ts';
import { writeFileDurable } from '../state/durable.ts';
import { safeName } from '../state/safe-name.ts';
import { crashPoint } from '../testing/crash-point.ts';
import type { Fetched, Fetcher } from '../types.ts';

export type { ImapTlsMode };

import { z } from 'zod';
import { goneError } from '../errors.ts';
import { makeDownloadDir } from './download-dir.ts';
import { camelOptions, checkMailboxOptions, mailboxServerSchema } from './mailbox-options.ts';

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

/** Per recorded UID: acked (removal to do) or copied (only the \Deleted flag is left to set). */
type RecordState = 'acked' | 'copied';

class UidRecord {
  uidValidity = '';
  uids = new Map<number, RecordState>();
  constructor(private readonly path: string) {}

  async load(): Promise<void> {
    try {
      const data = JSON.parse(await readFile(this.path, 'utf8')) as {
        uidValidity?: string;
        uids?: Record<string, RecordState>;
      };
      this.uidValidity = String(data.uidValidity ?? '');
      this.uids = new Map(Object.entries(data.uids ?? {}).map(([k, v]) => [Number(k), v]));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new StageError(`cannot read the UID record ${this.path}: fix or remove it`, {
          code: 'ESTORAGE',
          unit: UNIT,
          cause: error,
        });
      }
    }
  }

  async save(): Promise<void> {
    const uids = Object.fromEntries([...this.uids].map(([k, v]) => [String(k), v]));
    await writeFileDurable(
      this.path,
      `${JSON.stringify({ uidValidity: this.uidValidity, uids })}\n`,
    );
  }
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

/** An IMAP fetcher; one logical session from the first `fetch()` to `close()`. */
export default function createImapFetcher(options: ImapOptions): Fetcher {
  checkOptions(options);
  const tls = options.tls ?? 'starttls';
  const port = options.port ?? (tls === 'implicit' ? 993 : 143);
  const mailbox = options.mailbox ?? 'INBOX';
  const maxMailSize = options.maxMailSize ?? 50 * 1024 * 1024;
  const lockTimeout = options.lockTimeout ?? 30_000;
  const reconnects = options.reconnects ?? 3;
  const where = `imap server ${options.host}:${port} (${tls === 'none' ? 'no TLS' : tls === 'implicit' ? 'implicit TLS' : 'STARTTLS'})`;
  const ctx = { where, user: options.user, mailbox };
  const record = new UidRecord(
    join(
      options.stateDir,
      'imap',
      `${safeName(`${options.user}@${options.host}:${port}/${mailbox}`)}.json`,
    ),
  );

  let client: ImapFlow | undefined;
  let lock: MailboxLockObject | undefined;
  let uidValidity = '';
  let queue: Entry[] | undefined;
  let oversized: Entry[] = [];
  /** (UIDVALIDITY:UID) handed out in this session: never handed out again. */
  const handedOut = new Set<string>();
  let workDir: string | undefined;
  let closed = false;
  let recordLoaded = false;

  async function connect(): Promise<void> {
    let ca: string | undefined;
    if (options.caFile) {
      try {
        ca = await readFile(options.caFile, 'utf8');
      } catch (error) {
        throw new StageError(`cannot read caFile ${options.caFile}: ${(error as Error).message}`, {
          code: 'ECONFIG',
          unit: UNIT,
          cause: error,
        });
      }
    }
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
      lock = await c.getMailboxLock(mailbox, { acquireTimeout: lockTimeout });
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
    client = c;
    const selected = c.mailbox;
    uidValidity = selected ? String(selected.uidValidity) : '';
  }

  /** Lists the mailbox, finishes removals a previous session left, and fills the queue. */
  async function list(): Promise<void> {
    const c = client!;
    if (!recordLoaded) {
      await record.load();
      recordLoaded = true;
    }
    if (record.uidValidity !== uidValidity) {
      // Every recorded UID belonged to the old mailbox: none of them names a message now.
      record.uidValidity = uidValidity;
      record.uids.clear();
      await record.save();
    }
    const all = (await c.search({ all: true }, { uid: true })) || [];
    const deleted = new Set((await c.search({ deleted: true }, { uid: true })) || []);
    const present = new Set(all);
    const before = record.uids.size;
    for (const uid of record.uids.keys()) if (!present.has(uid)) record.uids.delete(uid);
    if (record.uids.size !== before) await record.save();
    for (const [uid, state] of record.uids) {
      // Already flagged and nothing to copy: without UIDPLUS there is nothing more we may do.
      const flagged = deleted.has(uid);
      if (flagged && !c.capabilities.has('UIDPLUS') && (!options.moveTo || state === 'copied')) {
        continue;
      }
      await remove(uid, state);
    }
    const fresh = all.filter(
      (uid) =>
        !deleted.has(uid) && !record.uids.has(uid) && !handedOut.has(`${uidValidity}:${uid}`),
    );
    const sizes = new Map<number, number>();
    if (fresh.length > 0) {
      for (const msg of await c.fetchAll(uidSet(fresh), { uid: true, size: true }, { uid: true })) {
        sizes.set(msg.uid, msg.size ?? 0);
      }
    }
    queue = [];
    oversized = [];
    for (const uid of fresh.sort((a, b) => a - b)) {
      const entry = { uid, size: sizes.get(uid) ?? 0 };
      (entry.size > maxMailSize ? oversized : queue).push(entry);
    }
  }

  /** Removes (or moves) one message whose UID is recorded as handled. */
  async function remove(uid: number, state: RecordState): Promise<void> {
    const c = client!;
    const range = String(uid);
    const fail = (what: string) =>
      new StageError(`${what} for UID ${uid} failed on ${where}; will retry next session`, {
        code: 'EPROTOCOL',
        unit: UNIT,
        temporary: true,
      });
    if (options.moveTo && state === 'acked') {
      if (c.capabilities.has('MOVE')) {
        if (!(await c.messageMove(range, options.moveTo, { uid: true }))) throw fail('MOVE');
        crashPoint('imap.after-move');
        return;
      }
      const copied = await c.messageCopy(range, options.moveTo, { uid: true });
      if (!copied || (copied.uidMap && !copied.uidMap.has(uid))) throw fail('COPY');
      // Recorded, so a crash before the flag does not copy it a second time.
      record.uids.set(uid, 'copied');
      await record.save();
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

  async function start(): Promise<void> {
    await connect();
    try {
      await list();
    } catch (error) {
      // A half-started session is dropped; the next fetch() starts anew.
      dropClient();
      queue = undefined;
      throw imapError(error, ctx);
    }
    workDir ??= await makeDownloadDir(options.tmpDir ?? tmpdir(), UNIT);
  }

  /** Drops a dead client and opens a new session, a few times; the queue is listed again. */
  async function reconnect(cause: StageError): Promise<void> {
    dropClient();
    let last = cause;
    for (let attempt = 0; attempt < reconnects; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(200 * 2 ** attempt, 2000)));
      try {
        await connect();
        await list();
        return;
      } catch (error) {
        last = imapError(error, ctx);
        dropClient();
        if (!isConnectionLoss(last)) throw last;
      }
    }
    throw last;
  }

  function dropClient(): void {
    try {
      lock?.release();
    } catch {}
    lock = undefined;
    client?.close();
    client = undefined;
  }

  async function download(entry: Entry): Promise<Buffer | undefined> {
    const c = client!;
    const path = join(workDir!, `${uidValidity}-${entry.uid}.eml`);
    try {
      // Partial fetches of 256 KiB: few round trips, and never more than that in memory.
      const result = await c.download(String(entry.uid), undefined, {
        uid: true,
        chunkSize: 256 * 1024,
      });
      if (!result.content) return undefined; // expunged by another client meanwhile
      let size = 0;
      const guard = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          size += chunk.length;
          if (size > maxMailSize)
            callback(Object.assign(new Error('too large'), { code: 'ESIZE' }));
          else callback(null, chunk);
        },
      });
      await pipeline(result.content, guard, createWriteStream(path, { flags: 'w', mode: 0o600 }));
      // One Buffer for createListMail; the download itself held only stream buffers.
      return await readFile(path);
    } catch (error) {
      if ((error as { code?: string }).code === 'ESIZE') {
        throw new StageError(
          `UID ${entry.uid} is larger than maxMailSize (${maxMailSize}) although the server said ${entry.size}; left in ${mailbox}`,
          { code: 'ESIZE', unit: UNIT },
        );
      }
      throw imapError(error, ctx);
    } finally {
      await unlink(path).catch(() => {});
    }
  }

  async function next(): Promise<Fetched> {
    for (;;) {
      const entry = queue!.shift();
      if (!entry) {
        const big = oversized.shift();
        if (big) {
          throw new StageError(
            `UID ${big.uid} in ${mailbox} is ${big.size} bytes, over maxMailSize (${maxMailSize}); ` +
              'left in the mailbox: raise maxMailSize or remove it by hand.',
            { code: 'ESIZE', unit: UNIT },
          );
        }
        throw new NothingMore();
      }
      const raw = await download(entry);
      if (!raw) continue;
      const validity = uidValidity;
      handedOut.add(`${validity}:${entry.uid}`);
      const mail = createListMail(raw, {
        fetcher: UNIT,
        id: `imap:${mailbox}:${validity}:${entry.uid}`,
      });
      return { mail, ack: () => ack(validity, entry.uid) };
    }
  }

  async function ack(validity: string, uid: number): Promise<void> {
    if (validity !== uidValidity) {
      throw new StageError(
        `UIDVALIDITY of ${mailbox} changed since UID ${uid} was fetched: it cannot be removed and will be fetched again`,
        { code: 'EPROTOCOL', unit: UNIT },
      );
    }
    if (record.uids.has(uid)) return;
    record.uids.set(uid, 'acked');
    await record.save();
    crashPoint('imap.after-record');
    try {
      if (client?.usable) {
        await remove(uid, 'acked');
        return;
      }
    } catch (error) {
      // Recorded: a later session completes the removal; the mail is not handed out again.
      const failure = imapError(error, ctx);
      if (!isConnectionLoss(failure) || client?.usable) throw failure;
    }
    // A new session's list() finishes the removal of every recorded UID, this one included.
    await reconnect(goneError(new Error('connection lost'), { unit: UNIT, where }));
  }

  return {
    name: UNIT,
    async fetch(): Promise<Fetched> {
      if (closed) throw new StageError('fetch() after close()', { code: 'EPROTOCOL', unit: UNIT });
      if (!queue) await start();
      else if (!client?.usable)
        await reconnect(goneError(new Error('connection lost'), { unit: UNIT, where }));
      try {
        return await next();
      } catch (error) {
        if (!(error instanceof StageError) || !isConnectionLoss(error) || client?.usable)
          throw error;
        await reconnect(error);
        return next();
      }
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const c = client;
      try {
        lock?.release();
      } catch {}
      lock = undefined;
      client = undefined;
      if (c?.usable) {
        // LOGOUT, but a server that stopped answering must not hold close() up.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          c.logout().catch(() => {}),
          new Promise((resolve) => {
            timer = setTimeout(resolve, Math.min(options.timeout ?? 60_000, 5000));
          }),
        ]);
        clearTimeout(timer);
      }
      c?.close();
      if (workDir) await rm(workDir, { recursive: true, force: true });
    },
  };
}
