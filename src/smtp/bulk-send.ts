/**
 * Running one send of the bulk client over its connection pool: a slot per connection
 * takes the next transaction from a shared list, so a slow or dead connection never holds
 * up the others; a transaction whose message never went out goes back on the list for
 * another connection; one the server's SIZE limit refuses is failed here (552); and what
 * no connection could take at the end is deferred with the last connection error.
 */
import type { RecipientResult } from '../types.ts';
import type { SmtpConnection } from './connection.ts';
import { GroupCommit, type Recorder } from './group-commit.ts';
import type { ConnectionPool } from './pool.ts';
import { runTransactions, type Transaction } from './transaction.ts';

export interface SlotSettings {
  /** Connection slots at most (fewer for fewer transactions: slotsFor). */
  maxConnections: number;
  /** Connection failures (connect or mid-transaction) one slot tolerates. */
  failuresPerSlot: number;
  /** Deadline for the reply to each message's final dot, ms. */
  dataMs: number;
}

/** Transactions that warrant a connection of their own: a slot is opened for each this many. */
export const TRANSACTIONS_PER_SLOT = 4;

/**
 * The connection slots for `transactions`: one for every TRANSACTIONS_PER_SLOT of them, at
 * most `max`. A post to ten members with VERP (ten transactions) opens 3 connections, not 8:
 * each costs the relay a session (a Postfix smtpd process) and this process a handshake
 * (8 against 2 connections: 1.8% of a `malist receive`'s instructions, callgrind), while
 * one pipelined connection carries thousands of transactions a second. A big send still
 * opens `max`.
 */
export function slotsFor(transactions: number, max: number): number {
  return Math.max(1, Math.min(max, Math.ceil(transactions / TRANSACTIONS_PER_SLOT)));
}

/**
 * Runs every transaction of `send` over `pool`; its outcomes end in `send.results`. Throws
 * what the recorder threw, once no recording is in progress.
 */
export async function runSend(
  send: BulkSend,
  pool: ConnectionPool,
  settings: SlotSettings,
): Promise<void> {
  await Promise.all(
    Array.from({ length: slotsFor(send.size, settings.maxConnections) }, () =>
      connectionSlot(send, pool, settings),
    ),
  );
  deferUntaken(send);
  await send.commit.idle();
  if (send.commit.failed) throw send.commit.error;
}

/** A send in progress: the transactions not yet taken, and the outcomes so far. */
export class BulkSend {
  readonly results = new Map<string, RecipientResult>();
  readonly commit: GroupCommit;
  /** Why the last connection failed: the reason given to what no connection could take. */
  lastError: Error | undefined;
  #taken = 0;
  readonly #again: Transaction[] = [];

  constructor(
    /** The transport's name, on every outcome made here. */
    readonly distributor: string,
    private readonly work: Transaction[],
    record: Recorder | undefined,
    /** The job's own stop (SendJob.stopped): nothing more is taken once it says so. */
    private readonly stopped?: () => boolean,
  ) {
    this.commit = new GroupCommit(record);
  }

  get size(): number {
    return this.work.length;
  }

  /** Whether transactions are left to take (none once the job is stopped). */
  get left(): boolean {
    if (this.stopped?.()) return false;
    return this.#again.length > 0 || this.#taken < this.work.length;
  }

  /**
   * The next transaction to run; none once recording failed (what is not recorded must not
   * be sent) or the job was stopped.
   */
  next(): Transaction | undefined {
    if (this.commit.failed || this.stopped?.()) return undefined;
    return (
      this.#again.pop() ?? (this.#taken < this.work.length ? this.work[this.#taken++] : undefined)
    );
  }

  /** A transaction whose message never went out, for another connection. */
  requeue(tx: Transaction): void {
    this.#again.push(tx);
  }

  /** Takes a transaction's outcomes; resolves once they are recorded. */
  settle(tx: Transaction, outcome: RecipientResult[]): Promise<void> {
    for (const r of outcome) this.results.set(r.recipient, r);
    // A personal body is made again if the transaction is tried again; not kept.
    (tx as { release?(): void }).release?.();
    return this.commit.add(outcome);
  }
}

/**
 * One connection slot of a send: runs transactions on pooled connections until none is
 * left, recording failed, or its connections failed `failuresPerSlot` times.
 */
async function connectionSlot(
  send: BulkSend,
  pool: ConnectionPool,
  settings: SlotSettings,
): Promise<void> {
  let failures = 0;
  while (send.left && !send.commit.failed && failures < settings.failuresPerSlot) {
    let conn: SmtpConnection;
    try {
      conn = await pool.acquire();
    } catch (error) {
      send.lastError = error as Error;
      failures++;
      continue;
    }
    const limit = conn.maxSize;
    try {
      await runTransactions(conn, {
        next: () => nextFitting(send, limit),
        settle: (tx, outcome) => send.settle(tx, outcome),
        requeue: (tx) => send.requeue(tx),
        stopped: () => send.commit.failed,
        more: () => conn.alive && conn.transactions + 1 < pool.options.maxTransactions,
        distributor: send.distributor,
        timeouts: { data_ms: settings.dataMs },
      });
    } catch (error) {
      send.lastError = error as Error;
      failures++;
    } finally {
      pool.release(conn);
    }
  }
}

/** The next transaction within the server's SIZE limit; bigger ones are refused (552) here. */
function nextFitting(send: BulkSend, limit: number | undefined): Transaction | undefined {
  for (let tx = send.next(); tx; tx = send.next()) {
    if (limit === undefined || tx.body.size <= limit) return tx;
    void send.settle(
      tx,
      tx.to.map((recipient) => ({
        recipient,
        status: 'failed' as const,
        distributor: send.distributor,
        code: 552,
        response: `552 the message (${tx.body.size} bytes) is larger than the server's limit (${limit} bytes)`,
      })),
    );
  }
  return undefined;
}

/** Transactions no connection could take: deferred with the reason. */
function deferUntaken(send: BulkSend): void {
  for (let tx = send.next(); tx; tx = send.next()) {
    const why = send.lastError?.message ?? 'no connection to the SMTP server';
    const code = (send.lastError as { responseCode?: number } | undefined)?.responseCode;
    void send.settle(
      tx,
      tx.to.map((recipient) => ({
        recipient,
        status: 'deferred' as const,
        distributor: send.distributor,
        ...(code !== undefined ? { code } : {}),
        response: why,
      })),
    );
  }
}
