/**
 * Which PostgreSQL client for the queue's hot path: `pg` (node-postgres) or `postgres`
 * (porsager). The hot path is what a queue worker does per batch: a short transaction that
 * claims rows with SELECT … FOR UPDATE SKIP LOCKED and marks them, then one sent-log insert
 * per server reply (autocommit, awaited before the next reply is acted on), then marking the
 * batch done. Run against a server the script starts (as `npm run bench -- --pg-client`
 * does) or a URL: node --import tsx bench/pg-client.ts [--url postgres://…] [--rows 20000]
 */
import pg from 'pg';
import postgres from 'postgres';

interface Client {
  name: string;
  exec(sql: string, params?: unknown[]): Promise<unknown[]>;
  tx<T>(fn: (q: (sql: string, params?: unknown[]) => Promise<unknown[]>) => Promise<T>): Promise<T>;
  end(): Promise<void>;
}

function nodePostgres(url: string): Client {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  return {
    name: 'pg 8',
    exec: async (sql, params) => (await pool.query(sql, params as unknown[])).rows,
    async tx(fn) {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        const out = await fn(async (sql, params) => (await c.query(sql, params as unknown[])).rows);
        await c.query('COMMIT');
        return out;
      } catch (error) {
        await c.query('ROLLBACK');
        throw error;
      } finally {
        c.release();
      }
    },
    end: () => pool.end(),
  };
}

function porsager(url: string): Client {
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  return {
    name: 'postgres 3',
    exec: async (text, params) => [...(await sql.unsafe(text, (params ?? []) as never[]))],
    tx: (fn) =>
      sql.begin(async (t) =>
        fn(async (text, params) => [...(await t.unsafe(text, (params ?? []) as never[]))]),
      ) as never,
    end: () => sql.end(),
  };
}

async function hotPath(
  client: Client,
  rows: number,
  batch: number,
): Promise<{ ms: number; cpu: number }> {
  await client.exec('DROP TABLE IF EXISTS bench_rcpt, bench_sent');
  await client.exec(
    "CREATE TABLE bench_rcpt (id bigserial PRIMARY KEY, address text NOT NULL, state text NOT NULL DEFAULT 'ready', holder int)",
  );
  await client.exec(
    'CREATE TABLE bench_sent (rcpt bigint PRIMARY KEY, reply text NOT NULL, at timestamptz NOT NULL DEFAULT now())',
  );
  await client.exec(
    "INSERT INTO bench_rcpt (address) SELECT 'm' || g || '@example.test' FROM generate_series(1, $1) g",
    [rows],
  );
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (;;) {
    const claimed = (await client.tx(async (q) =>
      q(
        "UPDATE bench_rcpt SET state = 'claimed', holder = pg_backend_pid() WHERE id IN (SELECT id FROM bench_rcpt WHERE state = 'ready' ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING id, address",
        [batch],
      ),
    )) as { id: string }[];
    if (claimed.length === 0) break;
    for (const row of claimed)
      await client.exec("INSERT INTO bench_sent (rcpt, reply) VALUES ($1, '250 2.0.0 Ok')", [
        row.id,
      ]);
    await client.exec("UPDATE bench_rcpt SET state = 'done' WHERE id = ANY($1::bigint[])", [
      claimed.map((r) => r.id),
    ]);
  }
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu0);
  return { ms, cpu: (used.user + used.system) / 1000 };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  const rows = Number(at('--rows') ?? 20_000);
  let url = at('--url');
  let stop: (() => Promise<void>) | undefined;
  if (!url) {
    const { startPostgres } = await import('../test/helpers/postgres.js');
    const server = await startPostgres();
    url = server.url;
    stop = () => server.stop();
  }
  try {
    console.log(
      `| client | ${rows} recipients claimed by 100 + one sent-log insert each | rcpt/s | client CPU a recipient |`,
    );
    console.log('|---|--:|--:|--:|');
    for (let round = 0; round < 2; round++) {
      for (const make of [nodePostgres, porsager]) {
        const client = make(url);
        const { ms, cpu } = await hotPath(client, rows, 100);
        console.log(
          `| ${client.name} | ${(ms / 1000).toFixed(2)} s | ${Math.round(rows / (ms / 1000))} | ${((cpu / rows) * 1000).toFixed(0)} µs |`,
        );
        await client.end();
      }
    }
  } finally {
    await stop?.();
  }
}

await main();
