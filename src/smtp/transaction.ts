/**
 * Running SMTP transactions on one connection, pipelined (RFC 2920): each transaction's
 * MAIL, RCPTs and DATA go in one write; once DATA's 354 is in, the message and the next
 * transaction's commands go in the next write. So a connection costs one round trip per
 * transaction, whatever its number of recipients, and never sends the message before the
 * server said 354 (a server that refused every recipient would read it as commands).
 *
 * Per-recipient truth: a recipient is `delivered` only on a 2xx to the final dot; a 5xx
 * to MAIL, its RCPT, DATA or the dot makes it `failed`; everything else (4xx, timeouts, a
 * dropped connection) leaves it `deferred`. A transaction cut off before its final reply
 * defers exactly its recipients not refused yet; the ones already settled stay settled.
 */
import type { RecipientResult } from '../types.ts';
import type { SmtpConnection } from './connection.ts';
import type { PreparedBody } from './dot-stuff.ts';
import type { Reply } from './reply-reader.ts';

export interface Transaction {
  from: string;
  to: string[];
  body: PreparedBody;
}

export interface TransactionTimeouts {
  /** Deadline for the reply to the final dot. */
  data_ms: number;
}

const TERMINATOR_ONLY = '.\r\n';

function resultOf(recipient: string, reply: Reply, distributor: string): RecipientResult {
  const status = reply.code < 400 ? 'delivered' : reply.code >= 500 ? 'failed' : 'deferred';
  return { recipient, status, distributor, code: reply.code, response: reply.text };
}

function mailParams(conn: SmtpConnection, tx: Transaction): string {
  let params = '';
  if (conn.extensions.has('SIZE')) params += ` SIZE=${tx.body.size}`;
  if (tx.body.eightBit && conn.extensions.has('8BITMIME')) params += ' BODY=8BITMIME';
  const utf8 = /[^\x00-\x7f]/; // any non-ASCII character
  if (conn.extensions.has('SMTPUTF8') && (utf8.test(tx.from) || tx.to.some((r) => utf8.test(r)))) {
    params += ' SMTPUTF8';
  }
  return params;
}

function commandsOf(conn: SmtpConnection, tx: Transaction, rset: boolean): string[] {
  const out: string[] = rset ? ['RSET\r\n'] : [];
  out.push(`MAIL FROM:<${tx.from}>${mailParams(conn, tx)}\r\n`);
  for (const r of tx.to) out.push(`RCPT TO:<${r}>\r\n`);
  out.push('DATA\r\n');
  return out;
}

/** A transaction on its way: the outcomes known so far. */
class Flight {
  readonly results: Array<RecipientResult | undefined>;
  constructor(readonly tx: Transaction) {
    this.results = new Array(tx.to.length);
  }
  /** Every recipient without an outcome yet gets `deferred` with `why`. */
  defer(why: string, code: number | undefined, distributor: string): RecipientResult[] {
    return this.tx.to.map(
      (recipient, i) =>
        this.results[i] ?? {
          recipient,
          status: 'deferred',
          distributor,
          ...(code !== undefined ? { code } : {}),
          response: why,
        },
    );
  }
}

export interface RunOptions {
  /** The next transaction for this connection, or undefined when there is no more work. */
  next(): Transaction | undefined;
  /**
   * Takes a finished transaction's outcomes (one per recipient, in order); resolves once
   * they are recorded (the queue's sent-log), or recording failed (then `stopped()`).
   */
  settle(tx: Transaction, results: RecipientResult[]): Promise<void>;
  /** True once nothing more may be sent (the outcomes could not be recorded). */
  stopped(): boolean;
  /**
   * Gives back a transaction whose message was never sent (its commands were pipelined,
   * no reply came): the server cannot have taken it, so another connection may send it.
   */
  requeue(tx: Transaction): void;
  /** Whether the connection may take another transaction (max messages per connection). */
  more(): boolean;
  distributor: string;
  timeouts: TransactionTimeouts;
}

/**
 * Runs transactions on `conn` until `next()` has no more or `more()` says stop. On a
 * connection failure, settles the transactions in flight (their unfinished recipients
 * deferred) and rethrows; the connection is dead then.
 */
export async function runTransactions(conn: SmtpConnection, run: RunOptions): Promise<void> {
  const first = run.next();
  if (!first) return;
  let current = new Flight(first);
  let following: Flight | undefined;
  // Until the message went out, the server cannot have delivered it.
  let messageSent = false;
  let recorded: Promise<void> = Promise.resolve();
  const pipelining = conn.pipelining;
  try {
    let written = false;
    for (;;) {
      const tx = current.tx;
      const rset = conn.dirty;
      const commands = commandsOf(conn, tx, rset);
      if (pipelining && !written) conn.write(commands.join(''));
      // Every command answered in order; without PIPELINING, sent one at a time.
      const answer = async (i: number): Promise<Reply> => {
        if (!pipelining) conn.write(commands[i] as string);
        return conn.reply(undefined, `the reply to ${(commands[i] as string).slice(0, 4)}`);
      };
      let i = 0;
      if (rset) {
        const reply = await answer(i++);
        if (reply.code !== 250) throw new Error(`RSET refused: ${reply.text}`);
        conn.dirty = false;
      }
      conn.dirty = true;
      const mail = await answer(i++);
      const accepted: number[] = [];
      for (let r = 0; r < tx.to.length; r++) {
        // Without pipelining there is no point in RCPTs after a refused MAIL.
        if (!pipelining && mail.code >= 300) break;
        const reply = await answer(i++);
        if (mail.code >= 300) continue;
        if (reply.code < 300) accepted.push(r);
        else current.results[r] = resultOf(tx.to[r] as string, reply, run.distributor);
      }
      if (mail.code >= 300) {
        for (let r = 0; r < tx.to.length; r++)
          current.results[r] = resultOf(tx.to[r] as string, mail, run.distributor);
      }
      const data = !pipelining && accepted.length === 0 ? undefined : await answer(i++);
      let nextTx: Transaction | undefined;
      if (data?.code === 354 && accepted.length > 0) {
        // Nothing twice: no message goes out while an earlier one's 250 is not yet on disk,
        // so a crash can repeat at most the one transaction per connection in that window.
        await recorded;
        if (run.stopped()) throw new Error('stopped: the delivery outcomes could not be recorded');
        nextTx = run.more() ? run.next() : undefined;
        following = nextTx ? new Flight(nextTx) : undefined;
        const after = nextTx && pipelining ? commandsOf(conn, nextTx, false).join('') : undefined;
        messageSent = true;
        if (tx.body.inMemory) {
          // The message, and (pipelined) the next transaction's commands, in one write.
          const parts: Array<string | Buffer> = [...tx.body.chunks()];
          if (after) parts.push(after);
          conn.writeAll(parts);
        } else {
          // Made piece by piece: wait for the socket to take each before making the next.
          for (const piece of tx.body.chunks()) {
            if (!conn.write(piece)) await conn.drained();
            if (!conn.alive) break;
          }
          if (after) conn.write(after);
        }
        const final = await conn.reply(
          run.timeouts.data_ms,
          'the reply to the message (after DATA)',
        );
        conn.dirty = false;
        conn.transactions++;
        for (const r of accepted)
          current.results[r] = resultOf(tx.to[r] as string, final, run.distributor);
        written = nextTx !== undefined && pipelining;
      } else {
        if (data?.code === 354) {
          // 354 with no recipient accepted: an empty message to nobody closes the DATA phase.
          conn.write(TERMINATOR_ONLY);
          await conn.reply(run.timeouts.data_ms, 'the reply to an empty DATA');
        } else if (data) {
          for (const r of accepted)
            current.results[r] = resultOf(tx.to[r] as string, data, run.distributor);
        }
        written = false;
        nextTx = run.more() ? run.next() : undefined;
        following = nextTx ? new Flight(nextTx) : undefined;
      }
      recorded = run.settle(
        tx,
        current.defer('the server gave no answer', undefined, run.distributor),
      );
      if (!following) return;
      current = following;
      following = undefined;
      messageSent = false;
    }
  } catch (error) {
    const e = error as Error & { responseCode?: number; response?: string };
    const why = e.response ?? e.message;
    if (messageSent || current.results.some((r) => r !== undefined)) {
      void run.settle(current.tx, current.defer(why, e.responseCode, run.distributor));
    } else run.requeue(current.tx);
    if (following) run.requeue(following.tx);
    conn.destroy(e);
    throw error;
  }
}
