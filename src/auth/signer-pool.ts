/**
 * A small pool of worker threads that sign copies, for lists whose RSA signing outruns one
 * core: an rsa-sha256 2048 signature costs 0.26–0.28 ms of CPU here (`openssl speed`: 3,600
 * a second a core) and a signed, self-checked copy ~0.5 ms on top of the sending thread's
 * own ~0.25 ms a copy, so one core cannot sign and send 2,000 personalised copies a second.
 * Each worker loads the key files itself and runs a `createCopySigner`; the pool sends each
 * copy to the least busy worker. It is a `CopySigner`, so the queue takes either.
 *
 * The hand-off: the copies asked for in one turn of the event loop (the queue asks a slice
 * of 8 at a time) go to one worker as one message, and come back as one, the signed copies'
 * memory transferred, not cloned; a copy crosses as its bytes (a few KB), and no key ever
 * crosses. A worker holds at most two messages; what is asked meanwhile waits and goes as
 * one message when it answers. On a loaded 2-core machine a worker that sleeps between
 * small batches starts each one cold: a copy's work cost 2–4 times there what it costs in
 * a loop on one thread.
 */

import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SealPlan } from './arc-seal.ts';
import type { CopySigner } from './copy-signer.ts';
import type { DkimKeyOptions } from './keys.ts';
import { SelfCheckError } from './self-check.ts';

/** What the pool's workers sign with. */
export interface SignerPoolOptions {
  /** The DKIM keys (files: each worker reads them). */
  dkim: readonly DkimKeyOptions[];
  /** The rsa-sha256 key that seals, when copies are sealed. */
  arc?: DkimKeyOptions;
  /** @default true */
  selfCheck?: boolean;
  /** Worker threads. @default the machine's parallelism, at most 4 */
  threads?: number;
  /**
   * The public halves of the keys as the configuration loaded them (the ones `malist check`
   * compared with DNS), in the order of `dkim`, and of `arc`. A worker that finds another
   * key in a file (replaced since: a worker starts at the first copy and again after a
   * crash) signs nothing: every copy fails its self-check and is deferred, loudly.
   */
  expect?: { dkim: readonly KeyObject[]; arc?: KeyObject };
}

/** A pool of signing threads; `close()` ends them. */
export interface SignerPool extends CopySigner {
  readonly threads: number;
  close(): Promise<void>;
}

/** @internal what a worker starts with */
export interface WorkerSetup {
  dkim: DkimKeyOptions[];
  arc?: DkimKeyOptions;
  selfCheck?: boolean;
  /** SPKI DER of the keys expected in the files (`SignerPoolOptions.expect`). */
  expect?: { dkim: Uint8Array[]; arc?: Uint8Array };
}
/** @internal a copy to sign */
export interface SignRequest {
  id: number;
  raw: Uint8Array;
  seal?: SealPlan;
}
/** @internal what a worker is sent: the copies asked for in one turn of the event loop */
export interface SignBatch {
  copies: SignRequest[];
}
/** @internal a signed copy, or why not */
export type SignResponse =
  | { id: number; raw: Uint8Array }
  | { id: number; error: string; problems?: string[]; messageId?: string };

interface Pending {
  resolve(raw: Buffer): void;
  reject(error: Error): void;
}
interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Asked for, not yet sent. */
  outbox: SignRequest[];
  /** Messages sent and not answered yet. */
  batches: number;
}

/** Copies a turn sends to one worker before the next copies go to another. */
const BATCH = 16;
/**
 * Messages a worker holds at most (one it signs, one waiting). Copies asked for beyond that
 * wait here and go as one message when it answers: a busy worker gets fewer, larger
 * batches, so fewer messages and wake-ups a copy on a loaded machine.
 */
const IN_FLIGHT = 2;

/** Starts `threads` workers; they load their keys before signing the first copy. */
export function createSignerPool(opts: SignerPoolOptions): SignerPool {
  const threads = Math.max(1, opts.threads ?? Math.min(4, availableParallelism()));
  const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });
  const setup: WorkerSetup = {
    dkim: [...opts.dkim],
    arc: opts.arc,
    selfCheck: opts.selfCheck,
    ...(opts.expect
      ? {
          expect: {
            dkim: opts.expect.dkim.map(spki),
            ...(opts.expect.arc ? { arc: spki(opts.expect.arc) } : {}),
          },
        }
      : {}),
  };
  const slots: Slot[] = [];
  let nextId = 1;
  let closed = false;
  const start = (): Slot => {
    const slot: Slot = { worker: spawn(setup), pending: new Map(), outbox: [], batches: 0 };
    slot.worker.on('message', (replies: SignResponse[]) => {
      slot.batches--;
      for (const reply of replies) settle(slot, reply);
      flush(slot);
    });
    // A dead worker fails what it held and is replaced, so one bad copy stops nothing else.
    const fail = (error: Error) => {
      for (const p of slot.pending.values()) p.reject(error);
      slot.pending.clear();
      slot.outbox = [];
      const at = slots.indexOf(slot);
      if (at >= 0 && !closed) slots[at] = start();
    };
    slot.worker.on('error', fail);
    slot.worker.on('exit', (code) => {
      if (!closed) fail(new Error(`a signer thread exited (${code})`));
    });
    return slot;
  };
  for (let i = 0; i < threads; i++) slots.push(start());
  // The worker this turn's copies go to: one message (and one wake-up of one thread) for up
  // to BATCH copies, not a few copies to each thread; the least busy one at the turn's start.
  let turn: { slot: Slot; copies: number } | undefined;
  return {
    threads,
    sign(raw, seal) {
      if (closed) return Promise.reject(new Error('the signer pool is closed'));
      if (!turn || turn.copies >= BATCH || !slots.includes(turn.slot)) {
        if (!turn)
          queueMicrotask(() => {
            turn = undefined;
          });
        turn = {
          slot: slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a)),
          copies: 0,
        };
      }
      turn.copies++;
      const slot = turn.slot;
      const id = nextId++;
      return new Promise<Buffer>((resolve, reject) => {
        slot.pending.set(id, { resolve, reject });
        if (slot.outbox.push(seal ? { id, raw, seal } : { id, raw }) === 1)
          queueMicrotask(() => flush(slot));
      });
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}

/** Sends what `slot` was asked for as one message, unless it holds IN_FLIGHT already. */
function flush(slot: Slot): void {
  if (slot.outbox.length === 0 || slot.batches >= IN_FLIGHT) return;
  slot.batches++;
  const copies = slot.outbox;
  slot.outbox = [];
  slot.worker.postMessage({ copies } satisfies SignBatch);
}

function settle(slot: Slot, reply: SignResponse): void {
  const pending = slot.pending.get(reply.id);
  if (!pending) return;
  slot.pending.delete(reply.id);
  if ('raw' in reply)
    pending.resolve(Buffer.from(reply.raw.buffer, reply.raw.byteOffset, reply.raw.length));
  else if (reply.problems) pending.reject(new SelfCheckError(reply.problems, reply.messageId));
  else pending.reject(new Error(reply.error));
}

/**
 * The worker runs from the build as it is, or from the sources through tsx, registered in
 * the worker itself (a worker does not inherit hooks registered by the main thread).
 */
function spawn(setup: WorkerSetup): Worker {
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./signer-worker.js', import.meta.url), { workerData: setup });
  const entry = new URL('./signer-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsxEsmApi())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData: setup });
}

/** tsx's ESM API by its package exports (its CommonJS twin registers a wrong hook path). */
function tsxEsmApi(): string {
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  return pathToFileURL(join(dirname(manifest), pkg.exports['./esm/api']!.import.default)).href;
}
