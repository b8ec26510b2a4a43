/**
 * A pool of persistent SMTP connections shared by every send of one transport: at most
 * `max` open at once, an idle one reused (the server's state is clean after a final reply,
 * or the next transaction starts with RSET), a dead or worn-out one replaced, idle ones
 * closed with QUIT after a while so a long-lived process does not hold them forever.
 */
import { type ConnectionOptions, SmtpConnection } from './connection.ts';

export interface PoolOptions {
  max: number;
  /** Transactions per connection before it is closed and replaced. */
  maxTransactions: number;
  /** An idle connection is closed after this long, ms. */
  idleMs: number;
}

export class ConnectionPool {
  #idle: Array<{ conn: SmtpConnection; timer: NodeJS.Timeout }> = [];
  #slots: number;
  #waiting: Array<() => void> = [];
  #closing = false;

  constructor(
    readonly connection: ConnectionOptions,
    readonly options: PoolOptions,
  ) {
    this.#slots = options.max;
  }

  /** A ready connection (an idle one, or a new one), waiting for a free slot if need be. */
  async acquire(): Promise<SmtpConnection> {
    if (this.#closing) throw new Error('the SMTP transport is closed');
    if (this.#slots === 0) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#slots--;
    for (let idle = this.#idle.pop(); idle; idle = this.#idle.pop()) {
      clearTimeout(idle.timer);
      if (idle.conn.alive) return idle.conn;
    }
    try {
      return await SmtpConnection.open(this.connection);
    } catch (error) {
      this.#free();
      throw error;
    }
  }

  /** Gives a connection back: kept when healthy, else closed. */
  release(conn: SmtpConnection): void {
    if (conn.alive && !this.#closing && conn.transactions < this.options.maxTransactions) {
      const timer = setTimeout(() => {
        this.#idle = this.#idle.filter((i) => i.conn !== conn);
        void conn.close();
      }, this.options.idleMs);
      timer.unref();
      this.#idle.push({ conn, timer });
    } else if (conn.alive) void conn.close();
    this.#free();
  }

  /** Whether `conn` may take another transaction. */
  usable(conn: SmtpConnection): boolean {
    return conn.alive && conn.transactions < this.options.maxTransactions;
  }

  #free(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#slots++;
  }

  async close(): Promise<void> {
    this.#closing = true;
    const idle = this.#idle;
    this.#idle = [];
    await Promise.all(
      idle.map(({ conn, timer }) => {
        clearTimeout(timer);
        return conn.close();
      }),
    );
  }
}
