/**
 * The on-disk spool, maildir style. An entry is a directory holding `message.eml` (the
 * wire bytes, never changed) and `envelope.json` (per-recipient state):
 *
 *   tmp/                 entries being written (and uncommitted transactions)
 *   new/<id>/            waiting for a runner
 *   cur/<id>@<holder>/   claimed by a runner (host@pid@start-time)
 *   done/<id>.json       final envelope of a finished entry, kept for the retention period
 *   dead/<id>/           dead letter: message and envelope of refused or expired recipients
 *   sent/<id>.log        the sent-log (sent-log.ts)
 *
 * Every move is one rename(2), so an entry is always whole in exactly one place. A claim
 * renames `new/<id>` to `cur/<id>@<holder>`; the holder in the name is the lock: a stale
 * claim is renamed to a new holder only when the old one is provably gone, and only one
 * such rename of that exact name can succeed.
 *
 * A post whose source still holds it (play() acks only afterwards) is delivered before it
 * is spooled: its claim is a file, `cur/<id>@<holder>`, a hard link to the holder's own
 * `tmp/.holder@<holder>` (no new inode: on some disks each costs a millisecond), and only
 * the recipients left after that first round are written as an entry. A file claim whose
 * holder is gone is removed: its post is still at its source, and the sent-log says who
 * already has it.
 */
import { randomBytes } from 'node:crypto';
import {
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
} from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, writeFileDurable, writeNewFileSynced } from '../state/durable.ts';
import {
  currentHolder,
  formatHolder,
  type Holder,
  isHolderGone,
  parseHolder,
} from '../state/lock.ts';
import { crashPoint } from '../testing/crash-point.ts';
import {
  applySettled,
  createEnvelope,
  type Envelope,
  gatherRecipients,
  type NewEnvelope,
  parseEnvelope,
} from './envelope.ts';
import { readSentLog } from './sent-log.ts';

export interface SpoolLayout {
  dir: string;
  tmp: string;
  new: string;
  cur: string;
  done: string;
  dead: string;
  sent: string;
}

export function spoolLayout(dir: string): SpoolLayout {
  return {
    dir,
    tmp: join(dir, 'tmp'),
    new: join(dir, 'new'),
    cur: join(dir, 'cur'),
    done: join(dir, 'done'),
    dead: join(dir, 'dead'),
    sent: join(dir, 'sent'),
  };
}

export async function ensureSpool(layout: SpoolLayout): Promise<void> {
  for (const sub of [layout.tmp, layout.new, layout.cur, layout.done, layout.dead, layout.sent]) {
    await mkdir(sub, { recursive: true, mode: 0o750 });
  }
}

export const MESSAGE_FILE = 'message.eml';
export const ENVELOPE_FILE = 'envelope.json';

export function sentLogPath(layout: SpoolLayout, id: string): string {
  return join(layout.sent, `${id}.log`);
}

function isCode(error: unknown, ...codes: string[]): boolean {
  return codes.includes((error as NodeJS.ErrnoException)?.code ?? '');
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR')) return undefined;
    throw error;
  }
}

/**
 * The final envelope of a finished entry: its done record with the sent-log applied (the
 * record is the claim's last written envelope, moved; the recipients settled since are in
 * the sent-log, which is kept and purged with it).
 */
export async function readDoneRecord(
  layout: SpoolLayout,
  id: string,
): Promise<Envelope | undefined> {
  const text = await readIfExists(join(layout.done, `${id}.json`));
  if (text === undefined) return undefined;
  const envelope = parseEnvelope(text);
  applySettled(envelope, await readSentLog(sentLogPath(layout, id), 'queue'));
  return envelope;
}

/** The claims of `id` in cur/ (names). */
export async function claimsOf(layout: SpoolLayout, id: string): Promise<string[]> {
  return (await readdir(layout.cur)).filter((name) => name.startsWith(`${id}@`));
}

/** The holder in a claim's name (`<id>@<host>@<pid>@<start>`). */
function holderOf(name: string): Holder | undefined {
  const at = name.indexOf('@');
  return at > 0 ? parseHolder(name.slice(at + 1)) : undefined;
}

/**
 * True for a file claim (a first delivery from a post's source, see above); a file claim
 * whose holder is provably gone is removed first and then counts as none (undefined).
 */
async function fileClaim(layout: SpoolLayout, name: string): Promise<boolean | undefined> {
  let isFile: boolean;
  try {
    isFile = (await lstat(join(layout.cur, name))).isFile();
  } catch (error) {
    if (isCode(error, 'ENOENT')) return undefined;
    throw error;
  }
  if (!isFile) return false;
  const holder = holderOf(name);
  if (holder && isHolderGone(holder)) {
    await unlink(join(layout.cur, name)).catch(() => {});
    return undefined;
  }
  return true;
}

export type EnqueueOutcome =
  | { id: string; status: 'queued' }
  /** The entry is already in the spool (waiting or claimed): nothing was added. */
  | { id: string; status: 'exists' }
  /** The entry was finished before: its final envelope says what happened. */
  | { id: string; status: 'done'; envelope: Envelope };

/** A written but not yet visible entry: `commit()` makes it visible, `abort()` removes it. */
export interface PreparedEntry {
  readonly id: string;
  /** The envelope as written (all recipients pending). */
  readonly envelope: Envelope;
  /**
   * Makes the entry visible in new/; with `claim`, straight in cur/ as this process's claim
   * (`claim` in the outcome), so that delivering it at once costs no second move.
   */
  commit(options?: { claim?: boolean }): Promise<EnqueueOutcome & { claim?: Claim }>;
  abort(): Promise<void>;
}

/**
 * What the spool holds of `id`: an entry (waiting or claimed), a done record, or nothing.
 * `firstRound`: another live process is delivering it from its source right now (a file
 * claim) — nothing durable here yet.
 */
export async function existing(
  layout: SpoolLayout,
  id: string,
): Promise<EnqueueOutcome | { id: string; status: 'first-round' } | undefined> {
  // Checked in the order an entry moves (new → cur → done), so one in transit is seen.
  if ((await readIfExists(join(layout.new, id, ENVELOPE_FILE))) !== undefined) {
    return { id, status: 'exists' };
  }
  let firstRound = false;
  for (const name of await claimsOf(layout, id)) {
    const file = await fileClaim(layout, name);
    if (file === false) return { id, status: 'exists' };
    if (file) firstRound = true;
  }
  const done = await readDoneRecord(layout, id);
  if (done) return { id, status: 'done', envelope: done };
  return firstRound ? { id, status: 'first-round' } : undefined;
}

/**
 * Writes an entry into tmp/ durably; nothing is visible to runners until `commit()`. The
 * staging directory is private, so its two files are written in place (no temporary name
 * each) and made durable by one fsync of the directory before it is renamed into view.
 */
export async function prepareEntry(
  layout: SpoolLayout,
  input: NewEnvelope & { raw: Buffer; envelope?: Envelope },
): Promise<PreparedEntry> {
  const staging = join(layout.tmp, `${input.id}.${randomBytes(6).toString('hex')}`);
  // One envelope file holds every recipient: streamed slices are gathered here.
  const envelope = input.envelope ?? createEnvelope(await gatherRecipients(input));
  await mkdir(staging, { mode: 0o750 });
  try {
    await writeNewFileSynced(join(staging, MESSAGE_FILE), input.raw);
    await writeNewFileSynced(join(staging, ENVELOPE_FILE), JSON.stringify(envelope));
    await fsyncDir(staging);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  let settled = false;
  return {
    id: input.id,
    envelope,
    async commit(options = {}) {
      if (settled) throw new Error(`entry ${input.id} was already committed or aborted`);
      settled = true;
      const before = await existing(layout, input.id);
      if (before && before.status !== 'first-round') {
        await rm(staging, { recursive: true, force: true });
        return before;
      }
      // While another process delivers the same post from its source, this copy waits in
      // new/ (its runner backs off that claim and later sends only what the sent-log lacks).
      if (before) options = { ...options, claim: false };
      const holder = currentHolder();
      const target = options.claim
        ? join(layout.cur, `${input.id}@${formatHolder(holder)}`)
        : join(layout.new, input.id);
      try {
        // rename(2) refuses to replace a non-empty directory: a racing enqueue of the
        // same ID leaves exactly one entry.
        await rename(staging, target);
      } catch (error) {
        await rm(staging, { recursive: true, force: true });
        if (isCode(error, 'ENOTEMPTY', 'EEXIST')) return { id: input.id, status: 'exists' };
        throw error;
      }
      await fsyncDir(options.claim ? layout.cur : layout.new);
      crashPoint('queue.after-spool-write');
      if (!options.claim) return { id: input.id, status: 'queued' };
      // Committed as a claim: as if enqueued and claimed at once, so the same rule holds
      // (the later of two claims of one ID backs off into new/).
      const claim = await exclusive(layout, { id: input.id, dir: target, holder });
      return { id: input.id, status: 'queued', ...(claim ? { claim } : {}) };
    },
    async abort() {
      if (settled) return;
      settled = true;
      await rm(staging, { recursive: true, force: true });
    },
  };
}

/** A claimed entry, owned by this process until released or finished. */
export interface Claim {
  readonly id: string;
  /** The claimed entry's directory (for a first-round claim: the claim file). */
  readonly dir: string;
  readonly holder: Holder;
  /** A first round from the post's source: nothing is spooled (see above). */
  readonly firstRound?: boolean;
}

let holderFile: { path: string; made: Promise<void> } | undefined;

/** This process's `tmp/.holder@<holder>`, the inode every first-round claim links to. */
async function ensureHolderFile(layout: SpoolLayout, again = false): Promise<string> {
  const path = join(layout.tmp, `.holder@${formatHolder(currentHolder())}`);
  if (again || holderFile?.path !== path) {
    holderFile = {
      path,
      made: open(path, 'a', 0o640).then((handle) => handle.close()),
    };
  }
  await holderFile.made;
  return path;
}

/**
 * Claims `id` for a first round from the post's source: a hard link in cur/, no entry.
 * Undefined when another claim of the ID exists (the caller spools the post instead).
 */
export async function claimFirstRound(layout: SpoolLayout, id: string): Promise<Claim | undefined> {
  const holder = currentHolder();
  const dir = join(layout.cur, `${id}@${formatHolder(holder)}`);
  for (let attempt = 0; ; attempt++) {
    try {
      await link(await ensureHolderFile(layout, attempt > 0), dir);
      break;
    } catch (error) {
      if (isCode(error, 'EEXIST')) return undefined;
      // The holder file was swept from tmp/ (a day-long watcher): made again once.
      if (isCode(error, 'ENOENT') && attempt === 0) continue;
      throw error;
    }
  }
  return exclusive(layout, { id, dir, holder, firstRound: true });
}

/**
 * Removes this process's holder file (when the queue closes): claims are hard links, so
 * any still held keep their inode; a later claim makes the file again. Without this every
 * `malist receive` would leave one in tmp/ until the daily sweep.
 */
export async function removeHolderFile(): Promise<void> {
  const made = holderFile;
  holderFile = undefined;
  if (!made) return;
  await made.made.catch(() => {});
  await unlink(made.path).catch(() => {});
}

/** Ends a first-round claim (after its leftovers, if any, were spooled). */
export async function dropFirstRoundClaim(claim: Claim): Promise<void> {
  await unlink(claim.dir).catch((error: unknown) => {
    if (!isCode(error, 'ENOENT')) throw error;
  });
}

/**
 * Makes sure no other claim of the same ID exists (a re-enqueue raced with a runner): the
 * later of two claims always sees the earlier one and backs off, so two runners never
 * work on one ID at once.
 */
async function exclusive(layout: SpoolLayout, claim: Claim): Promise<Claim | undefined> {
  const mine = claim.dir.slice(layout.cur.length + 1);
  const others: string[] = [];
  for (const name of await claimsOf(layout, claim.id)) {
    // A first-round claim of a dead holder is removed, not deferred to.
    if (name !== mine && (await fileClaim(layout, name)) !== undefined) others.push(name);
  }
  if (others.length === 0) {
    crashPoint('queue.after-claim');
    return claim;
  }
  await releaseClaim(layout, claim);
  return undefined;
}

/** Claims a waiting entry by renaming it into cur/; undefined when someone else has it. */
export async function claimEntry(layout: SpoolLayout, id: string): Promise<Claim | undefined> {
  const holder = currentHolder();
  const dir = join(layout.cur, `${id}@${formatHolder(holder)}`);
  try {
    await rename(join(layout.new, id), dir);
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTEMPTY', 'EEXIST')) return undefined;
    throw error;
  }
  await fsyncDir(layout.cur);
  return exclusive(layout, { id, dir, holder });
}

/** The claims in cur/ whose holder is provably gone (directory names). */
export async function staleClaims(layout: SpoolLayout): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(layout.cur)) {
    const holder = holderOf(name);
    if (!holder || !isHolderGone(holder)) continue;
    // A first-round claim holds no entry: removed (its post is still at its source).
    if ((await fileClaim(layout, name)) === false) out.push(name);
  }
  return out;
}

/** Takes over a stale claim (directory name in cur/); undefined when another runner was first. */
export async function reclaimEntry(layout: SpoolLayout, name: string): Promise<Claim | undefined> {
  const at = name.indexOf('@');
  const old = holderOf(name);
  if (!old || !isHolderGone(old)) return undefined;
  const id = name.slice(0, at);
  const holder = currentHolder();
  const dir = join(layout.cur, `${id}@${formatHolder(holder)}`);
  try {
    await rename(join(layout.cur, name), dir);
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTEMPTY', 'EEXIST')) return undefined;
    throw error;
  }
  await fsyncDir(layout.cur);
  return exclusive(layout, { id, dir, holder });
}

export async function readEnvelope(dir: string): Promise<Envelope> {
  return parseEnvelope(await readFile(join(dir, ENVELOPE_FILE), 'utf8'));
}

export async function readMessage(dir: string): Promise<Buffer> {
  return readFile(join(dir, MESSAGE_FILE));
}

export async function writeEnvelope(dir: string, envelope: Envelope): Promise<void> {
  await writeFileDurable(join(dir, ENVELOPE_FILE), JSON.stringify(envelope));
}

/** Puts a claimed entry back into new/ for a later run. */
export async function releaseClaim(layout: SpoolLayout, claim: Claim): Promise<void> {
  if (claim.firstRound) return dropFirstRoundClaim(claim);
  try {
    await rename(claim.dir, join(layout.new, claim.id));
  } catch (error) {
    if (!isCode(error, 'ENOTEMPTY', 'EEXIST')) throw error;
    // A copy of the same entry was enqueued meanwhile and waits in new/: one is enough
    // (the sent-log, shared by ID, keeps what this copy had settled).
    await rm(claim.dir, { recursive: true, force: true });
  }
  await fsyncDir(layout.new);
  await fsyncDir(layout.cur);
}

/**
 * Records the final envelope in done/ and removes the claimed entry. The claim's
 * envelope.json is moved there as it is: every recipient settled since it was written is
 * in the sent-log, and `readDoneRecord` applies that (no new file per finished entry).
 */
export async function finishClaim(layout: SpoolLayout, claim: Claim): Promise<void> {
  await rename(join(claim.dir, ENVELOPE_FILE), join(layout.done, `${claim.id}.json`));
  await fsyncDir(layout.done);
  crashPoint('queue.before-unlink');
  // Not fsynced: a claim that comes back after a power cut is reclaimed, finds the done
  // record's recipients settled in the sent-log, and is finished again without a send.
  try {
    // What a finished claim holds now: the message alone.
    await unlink(join(claim.dir, MESSAGE_FILE));
    await rmdir(claim.dir);
  } catch {
    await rm(claim.dir, { recursive: true, force: true });
  }
}

/** Writes (or refreshes) the dead letter of a claimed entry: its message and envelope. */
export async function writeDeadLetter(
  layout: SpoolLayout,
  claim: Claim,
  envelope: Envelope,
  raw?: Buffer,
): Promise<string> {
  const dir = join(layout.dead, claim.id);
  await mkdir(dir, { recursive: true, mode: 0o750 });
  const message = join(dir, MESSAGE_FILE);
  try {
    // message.eml is never changed, so a hard link is a safe, free copy; a first round has
    // none spooled, so its bytes are written.
    if (claim.firstRound && raw) await writeFileDurable(message, raw);
    else await link(join(claim.dir, MESSAGE_FILE), message);
  } catch (error) {
    if (!isCode(error, 'EEXIST')) {
      await writeFileDurable(message, raw ?? (await readMessage(claim.dir)));
    }
  }
  await writeEnvelope(dir, envelope);
  await fsyncDir(layout.dead);
  return dir;
}

export interface SpoolEntry {
  id: string;
  where: 'new' | 'cur' | 'dead';
  /** For a claimed entry: who holds it. */
  holder?: Holder;
  /**
   * A post in its first round (a live file claim): nothing is spooled yet, so its
   * envelope has no recipients; the ID, list and Message-ID come from its sent-log.
   */
  firstRound?: boolean;
  envelope: Envelope;
}

/** A live first-round claim as an entry, or undefined for anything else. */
async function firstRoundEntry(layout: SpoolLayout, name: string): Promise<SpoolEntry | undefined> {
  if ((await fileClaim(layout, name)) !== true) return undefined;
  const at = name.indexOf('@');
  const id = name.slice(0, at);
  const holder = holderOf(name);
  let since = Date.now();
  try {
    // link(2) sets the inode's change time: about when the claim was made.
    since = (await lstat(join(layout.cur, name))).ctimeMs;
  } catch {}
  const first = (await readIfExists(sentLogPath(layout, id)))?.split('\n').find(Boolean);
  let header: { message_id?: string; list?: string } = {};
  try {
    header = first ? ((JSON.parse(first) as { header?: typeof header }).header ?? {}) : {};
  } catch {}
  return {
    id,
    where: 'cur',
    ...(holder ? { holder } : {}),
    firstRound: true,
    envelope: {
      version: 1,
      id,
      ...(header.list ? { list: header.list } : {}),
      ...(header.message_id ? { message_id: header.message_id } : {}),
      sender: '',
      created: since,
      recipients: [],
      rounds: 0,
    },
  };
}

/**
 * Every waiting, claimed and dead entry, and every post in its first round (entries moving
 * while listed are skipped).
 */
export async function listSpool(layout: SpoolLayout): Promise<SpoolEntry[]> {
  const out: SpoolEntry[] = [];
  const collect = async (where: SpoolEntry['where'], base: string) => {
    for (const name of (await readdir(base)).sort()) {
      const text = await readIfExists(join(base, name, ENVELOPE_FILE));
      if (text === undefined) {
        const first = where === 'cur' ? await firstRoundEntry(layout, name) : undefined;
        if (first) out.push(first);
        continue;
      }
      const at = name.indexOf('@');
      const holder = where === 'cur' ? holderOf(name) : undefined;
      const id = at > 0 ? name.slice(0, at) : name;
      let envelope: Envelope;
      try {
        envelope = parseEnvelope(text);
      } catch (error) {
        // Shown, not hidden: the operator must see an entry the runners cannot read.
        envelope = {
          version: 1,
          id,
          sender: '',
          created: 0,
          recipients: [],
          rounds: 0,
          last_error: `unreadable envelope: ${(error as Error).message}`,
        };
      }
      out.push({ id, where, ...(holder ? { holder } : {}), envelope });
    }
  };
  await collect('new', layout.new);
  await collect('cur', layout.cur);
  await collect('dead', layout.dead);
  return out;
}

/** The IDs waiting in new/. */
export async function waitingIds(layout: SpoolLayout): Promise<string[]> {
  return (await readdir(layout.new)).filter((name) => !name.startsWith('.')).sort();
}

/** Reads the envelope of a waiting entry without claiming it, or undefined when it moved. */
export async function peekEnvelope(layout: SpoolLayout, id: string): Promise<Envelope | undefined> {
  const text = await readIfExists(join(layout.new, id, ENVELOPE_FILE));
  return text === undefined ? undefined : parseEnvelope(text);
}

/**
 * Removes done records and sent-logs older than `retentionMs`, and leftovers in tmp/ (an
 * uncommitted transaction or a write cut short by a crash) older than a day.
 */
export async function purgeSpool(
  layout: SpoolLayout,
  retentionMs: number,
  now: number,
): Promise<number> {
  let removed = 0;
  const sweep = async (
    base: string,
    maxAge: number,
    remove: (name: string) => Promise<boolean | undefined>,
  ) => {
    for (const name of await readdir(base)) {
      try {
        const info = await stat(join(base, name));
        if (now - info.mtimeMs < maxAge) continue;
        if ((await remove(name)) !== false) removed++;
      } catch (error) {
        if (!isCode(error, 'ENOENT')) throw error;
      }
    }
  };
  await sweep(layout.done, retentionMs, async (name) => {
    const id = name.replace(/\.json$/, '');
    // The done record goes first: a sent-log left alone still stops a re-send (and is
    // swept below); a done record without its sent-log would read as unfinished.
    await rm(join(layout.done, name), { force: true });
    await rm(sentLogPath(layout, id), { force: true });
    return true;
  });
  await sweep(layout.tmp, 24 * 3600 * 1000, async (name) => {
    await rm(join(layout.tmp, name), { recursive: true, force: true });
    return true;
  });
  // Sent-logs of posts finished in their first round have no done record: they go after
  // the same retention, unless an entry of that ID still waits, is claimed or is done.
  await sweep(layout.sent, retentionMs, async (name) => {
    const id = name.replace(/\.log$/, '');
    if ((await readIfExists(join(layout.new, id, ENVELOPE_FILE))) !== undefined) return false;
    if ((await claimsOf(layout, id)).length > 0) return false;
    // With a done record it goes with that record (above), which reads it.
    if ((await readIfExists(join(layout.done, `${id}.json`))) !== undefined) return false;
    await rm(join(layout.sent, name), { force: true });
    return true;
  });
  return removed;
}

/** Removes a dead letter (after an operator dealt with it). */
export async function removeDeadLetter(layout: SpoolLayout, id: string): Promise<boolean> {
  const dir = join(layout.dead, id);
  const exists = (await readIfExists(join(dir, ENVELOPE_FILE))) !== undefined;
  await rm(dir, { recursive: true, force: true });
  return exists;
}
