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
import { goneError, NothingMore, StageError } from '../errors.ts';
import { createListMail } from '../mail/list-mail.ts';
import { writeFileDurable } from '../state/durable.ts';
import { safeName } from '../state/safe-name.ts';
import { crashPoint } from '../testing/crash-point.ts';
import type { Fetched, Fetcher } from '../types.ts';
import { makeDownloadDir } from './download-dir.ts';
import { camelOptions, checkMailboxOptions, mailboxServerSchema } from './mailbox-options.ts';
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

function checkOptions(options: Pop3Options): void {
  checkMailboxOptions(UNIT, options);
}

/** The record of UIDs handled (acked) whose deletion may not have been committed yet. */
class UidRecord {
  uids = new Set<string>();
  constructor(private readonly path: string) {}

  async load(): Promise<void> {
    try {
      const data = JSON.parse(await readFile(this.path, 'utf8')) as { uids?: unknown };
      if (Array.isArray(data.uids)) this.uids = new Set(data.uids.map(String));
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
    await writeFileDurable(this.path, `${JSON.stringify({ uids: [...this.uids] })}\n`);
  }
}

/** The options of `type: pop3` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z.strictObject(mailboxServerSchema).transform(camelOptions);

/** A POP3 fetcher; one session from the first `fetch()` to `close()`. */
export default function createPop3Fetcher(options: Pop3Options): Fetcher {
  checkOptions(options);
  const tls = options.tls ?? 'starttls';
  const port = options.port ?? (tls === 'implicit' ? 995 : 110);
  const maxMailSize = options.maxMailSize ?? 50 * 1024 * 1024;
  const timeout = options.timeout ?? 60_000;
  const where = `pop3 server ${options.host}:${port} (${tls === 'none' ? 'no TLS' : tls === 'implicit' ? 'implicit TLS' : 'STARTTLS'})`;
  const ctx = { unit: UNIT, where, caOption: 'caFile' };
  const record = new UidRecord(
    join(options.stateDir, 'pop3', `${safeName(`${options.user}@${options.host}:${port}`)}.json`),
  );

  let session: Pop3Session | undefined;
  let queue: Entry[] | undefined;
  let oversized: Entry[] = [];
  let workDir: string | undefined;
  let closed = false;
  /** UIDs handed out in this session (across reconnects): never handed out again. */
  const handedOut = new Set<string>();
  const reconnects = options.reconnects ?? 3;

  async function open(): Promise<Pop3Session> {
    const ca = options.caFile ? await readCa(options.caFile) : undefined;
    try {
      return await Pop3Session.open({
        host: options.host,
        port,
        tls,
        user: options.user,
        password: options.password,
        ca,
        servername: options.servername,
        timeout,
      });
    } catch (error) {
      throw sessionError(error);
    }
  }

  function sessionError(error: unknown): StageError {
    if (error instanceof StageError) return error;
    const step = error instanceof Pop3StepError ? error.step : 'command';
    const cause = error instanceof Pop3StepError && error.cause ? error.cause : error;
    if (step === 'auth') {
      return new StageError(
        `${where} refused the login of ${options.user} (${(cause as Error)?.message ?? cause}): ` +
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
    return goneError(cause, ctx);
  }

  async function readCa(path: string): Promise<string> {
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      throw new StageError(`cannot read caFile ${path}: ${(error as Error).message}`, {
        code: 'ECONFIG',
        unit: UNIT,
        cause: error,
      });
    }
  }

  async function start(): Promise<void> {
    await record.load();
    session = await open();
    try {
      await list(session);
    } catch (error) {
      // A half-started session is dropped (its DELEs roll back); the next fetch() starts anew.
      session.destroy();
      session = undefined;
      queue = undefined;
      throw error instanceof StageError ? error : sessionError(error);
    }
    workDir ??= await makeDownloadDir(options.tmpDir ?? tmpdir(), UNIT);
  }

  /**
   * A new session after the connection was lost: its DELEs rolled back, but every acked UID
   * is in the record, so list() deletes them again and hands out only what is left.
   */
  async function reopen(cause: StageError): Promise<void> {
    session?.destroy();
    session = undefined;
    let last = cause;
    for (let attempt = 0; attempt < reconnects; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(200 * 2 ** attempt, 2000)));
      try {
        await start();
        return;
      } catch (error) {
        last = error instanceof StageError ? error : sessionError(error);
        if (last.code !== 'ECONNECTION') throw last;
      }
    }
    throw last;
  }

  async function list(live: Pop3Session): Promise<void> {
    const uids = await live.uidl();
    const sizes = await live.list();
    const present = new Set(uids.values());
    // Pruned: a UID that left UIDL is deleted for good and can never come back.
    const before = record.uids.size;
    for (const uid of record.uids) if (!present.has(uid)) record.uids.delete(uid);
    if (record.uids.size !== before) await record.save();

    const fresh: Entry[] = [];
    const big: Entry[] = [];
    for (const [n, uid] of [...uids].sort((a, b) => a[0] - b[0])) {
      if (record.uids.has(uid)) {
        // Handled in a session that died before QUIT: delete again, never hand out again.
        await live.dele(n).catch(() => {});
        continue;
      }
      // Handed out earlier in this session but not acked: kept, not handed out again.
      if (handedOut.has(uid)) continue;
      const entry = { n, uid, size: sizes.get(n) ?? 0 };
      (entry.size > maxMailSize ? big : fresh).push(entry);
    }
    queue = fresh;
    oversized = big;
  }

  async function download(entry: Entry, live: Pop3Session): Promise<Buffer> {
    const path = join(workDir!, `${entry.n}.eml`);
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
      throw sessionError(error);
    } finally {
      await unlink(path).catch(() => {});
    }
  }

  async function fetchNext(): Promise<Fetched> {
    if (closed) throw new StageError('fetch() after close()', { code: 'EPROTOCOL', unit: UNIT });
    if (!queue) await start();
    else if (!session?.alive) await reopen(goneError(new Error('the connection was lost'), ctx));
    // Bounded: a server that dies on every attempt at a message ends the run.
    for (let attempt = 0; ; attempt++) {
      const live = session!;
      const entry = queue!.shift();
      if (!entry) {
        const big = oversized.shift();
        if (big) {
          throw new StageError(
            `message ${big.uid} is ${big.size} bytes, over maxMailSize (${maxMailSize}); ` +
              'left on the server: raise maxMailSize or remove it by hand.',
            { code: 'ESIZE', unit: UNIT },
          );
        }
        throw new NothingMore();
      }
      let raw: Buffer;
      try {
        raw = await download(entry, live);
      } catch (error) {
        const lost = error instanceof StageError && error.code === 'ECONNECTION';
        if (!lost || closed || attempt >= reconnects) throw error;
        // Lost mid-message: a new session lists it again (it was not handed out).
        await reopen(error);
        continue;
      }
      handedOut.add(entry.uid);
      return handOut(entry, raw, live);
    }
  }

  function handOut(entry: Entry, raw: Buffer, live: Pop3Session): Fetched {
    const mail = createListMail(raw, { fetcher: UNIT, id: `pop3:${entry.uid}` });
    let acked = false;
    return {
      mail,
      async ack() {
        if (acked) return;
        // Recorded first: from here on the mail counts as removed, whatever happens next.
        record.uids.add(entry.uid);
        await record.save();
        acked = true;
        crashPoint('pop3.after-record');
        // A failed DELE is repeated by the next session, which finds the UID recorded.
        await live.dele(entry.n).catch(() => {});
        crashPoint('pop3.after-dele');
      },
    };
  }

  return {
    name: UNIT,
    fetch: fetchNext,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const live = session;
      session = undefined;
      try {
        if (live?.alive) {
          crashPoint('pop3.before-quit');
          // If QUIT fails the DELEs roll back; the record makes the next session redo them.
          await live.quit().catch(() => {});
        }
      } finally {
        live?.destroy();
        if (workDir) await rm(workDir, { recursive: true, force: true });
      }
    },
  };
}
