/**
 * Group commit of a send's outcomes: those settled while the recorder (the queue's
 * sent-log, fsynced) is busy are handed over together in its next call, so one fsync
 * covers the transactions every connection finished meanwhile. The recorder's calls never
 * overlap; each settled transaction learns when its outcomes are on record, and a
 * connection sends its next message only then (transaction.ts).
 */
import type { RecipientResult } from '../types.ts';

export type Recorder = (results: RecipientResult[]) => Promise<void>;

export class GroupCommit {
  #waiting: RecipientResult[] = [];
  #waiters: Array<() => void> = [];
  #flushing: Promise<void> | undefined;
  /** What the recorder threw; after it nothing more is recorded, nor may be sent. */
  error: unknown;

  /** Without a recorder every outcome counts as recorded at once. */
  constructor(private readonly record: Recorder | undefined) {}

  get failed(): boolean {
    return this.error !== undefined;
  }

  /** Resolves once `outcomes` are recorded, or recording failed (then `failed`). */
  add(outcomes: RecipientResult[]): Promise<void> {
    if (!this.record) return Promise.resolve();
    this.#waiting.push(...outcomes);
    const recorded = new Promise<void>((resolve) => this.#waiters.push(resolve));
    this.#pump();
    return recorded;
  }

  /** Resolves once no recording is in progress (nor follows it). */
  async idle(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  #pump(): void {
    const record = this.record;
    if (!record || this.#flushing || this.#waiting.length === 0) return;
    const group = this.#waiting;
    const done = this.#waiters;
    this.#waiting = [];
    this.#waiters = [];
    this.#flushing = (async () => {
      try {
        if (this.error === undefined) await record(group);
      } catch (error) {
        this.error = error;
      }
    })().finally(() => {
      this.#flushing = undefined;
      for (const resolve of done) resolve();
      this.#pump();
    });
  }
}
