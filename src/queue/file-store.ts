/**
 * The queue's state in files (the embedded default): the maildir-style spool of spool.ts
 * and the append-only sent-logs of sent-log.ts, behind the QueueStore contract. A claim is
 * a whole entry (rename into cur/); a first round from the post's source is a file claim
 * with nothing spooled.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readSentLog, SentLogWriter } from './sent-log.ts';
import {
  type Claim,
  claimEntry,
  claimFirstRound,
  claimsOf,
  dropFirstRoundClaim,
  ensureSpool,
  existing,
  finishClaim,
  listSpool,
  peekEnvelope,
  prepareEntry,
  purgeSpool,
  readDoneRecord,
  readEnvelope,
  readMessage,
  reclaimEntry,
  releaseClaim,
  removeDeadLetter,
  removeHolderFile,
  type SpoolLayout,
  sentLogPath,
  spoolLayout,
  staleClaims,
  waitingIds,
  writeDeadLetter,
  writeEnvelope,
} from './spool.ts';
import { finishedIds, readRecord, restoreRecord } from './spool-records.ts';
import type { QueueStore } from './store.ts';
import { readQueuedPosts } from './trace.ts';

export interface FileQueueStore extends QueueStore<Claim> {
  readonly kind: 'files';
  readonly layout: SpoolLayout;
}

/** The file spool in `dir` (created on `ready()`). */
export function createFileStore(dir: string): FileQueueStore {
  const layout = spoolLayout(dir);
  let made: Promise<void> | undefined;
  return {
    kind: 'files',
    where: dir,
    layout,
    ready() {
      made ??= ensureSpool(layout);
      return made;
    },
    existing: (id) => existing(layout, id),
    prepare: (input) => prepareEntry(layout, input),
    claimFirstRound: (id) => claimFirstRound(layout, id),
    claim: (id) => claimEntry(layout, id),
    async staleClaims() {
      return (await staleClaims(layout)).map((name) => ({
        id: name.slice(0, name.indexOf('@')),
        name,
      }));
    },
    reclaim: (name) => reclaimEntry(layout, name),
    waitingIds: () => waitingIds(layout),
    peek: (id) => peekEnvelope(layout, id),
    async appendSent(id, results, at) {
      const log = new SentLogWriter(sentLogPath(layout, id), { id });
      try {
        await log.append(results, at);
      } finally {
        await log.close();
      }
    },
    async message(id) {
      const claims = await claimsOf(layout, id).catch(() => []);
      for (const dir of [join(layout.new, id), ...claims.map((c) => join(layout.cur, c))]) {
        const raw = await readMessage(dir).catch(() => undefined);
        if (raw) return raw;
      }
      return undefined;
    },
    finishedIds: (part) => finishedIds(layout, part),
    record: (id) => readRecord(layout, id),
    restore: (record, part) => restoreRecord(layout, record, part),
    async read(claim) {
      return { envelope: await readEnvelope(claim.dir), raw: await readMessage(claim.dir) };
    },
    async view(id) {
      return (await peekEnvelope(layout, id)) ?? (await readDoneRecord(layout, id));
    },
    sentLog: (claim, distributor) => readSentLog(sentLogPath(layout, claim.id), distributor),
    sentLogAppender: (claim, header) => new SentLogWriter(sentLogPath(layout, claim.id), header),
    async settle(claim, envelope, failed) {
      if (claim.firstRound) return false;
      const finished = envelope.recipients.every((r) => r.state !== 'pending');
      // A finished entry's envelope goes to its done record; the copy in the claim would be
      // removed at once. It is written first only when the round gave up on someone, so a
      // crash before the done record does not repeat their notice.
      if (!finished || failed > 0) await writeEnvelope(claim.dir, envelope);
      if (finished) await finishClaim(layout, claim);
      else await releaseClaim(layout, claim);
      return finished;
    },
    release: (claim) => releaseClaim(layout, claim),
    async discard(claim) {
      if (claim.firstRound) return dropFirstRoundClaim(claim);
      await rm(claim.dir, { recursive: true, force: true });
    },
    readDone: (id) => readDoneRecord(layout, id),
    writeDeadLetter: (claim, envelope, raw) => writeDeadLetter(layout, claim, envelope, raw),
    removeDeadLetter: (id) => removeDeadLetter(layout, id),
    list: () => listSpool(layout),
    purge: (retentionMs, now) => purgeSpool(layout, retentionMs, now),
    queuedPosts: (list, messageIds) => readQueuedPosts(layout, list, messageIds),
    close: () => removeHolderFile(),
  };
}
