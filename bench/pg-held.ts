/**
 * Held mail on the files against PostgreSQL, in one process: hold N posts (what play()
 * does on Hold), list them (what `malist held list` and the web's held page read), then
 * approve each through decide() (claim the decision, move the post to done) with a
 * pipeline that passes the post as it is (the list's units are not what is measured).
 *
 *   node --import tsx bench/pg-held.ts [--posts 200] [--url postgres://…]
 *
 * Without --url it starts a PostgreSQL of its own (test/helpers/postgres.ts, fsync on).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createListMail } from '../src/mail/list-mail.ts';
import { decide } from '../src/moderation/decide.ts';
import { heldStore, type ModerationContext } from '../src/moderation/held.ts';
import { fileHeldStorage, type HeldStorage } from '../src/state/held-store.ts';
import { openDatabase } from '../src/state/pg.ts';
import { pgHeldStorage } from '../src/state/pg-held.ts';
import { startPostgres } from '../test/helpers/postgres.ts';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const posts = Number(arg('--posts') ?? 200);
const list = { name: 'red', address: 'red@list.example.com', members: [] };

function mail(i: number) {
  const raw = Buffer.from(
    `From: poster${i}@example.net\r\nTo: red@list.example.com\r\nSubject: post ${i}\r\n` +
      `Message-ID: <bench-${i}@example.net>\r\n\r\n${'body line of a held post\r\n'.repeat(80)}`,
  );
  return createListMail(raw, { fetcher: 'bench', id: String(i) });
}

async function run(name: string, storage: HeldStorage, stateDir: string) {
  const ctx: ModerationContext = {
    stateDir,
    storage,
    pipeline: () => ({ name: 'pass', process: async (m) => m }),
  };
  const cpu = process.cpuUsage();
  let t = performance.now();
  for (let i = 0; i < posts; i++)
    await heldStore(ctx, 'red').put(mail(i), { reason: 'bench', unit: 'bench', list: 'red' });
  const hold = (performance.now() - t) / posts;
  t = performance.now();
  const listed = await heldStore(ctx, 'red').list();
  const listMs = performance.now() - t;
  t = performance.now();
  for (const meta of listed) {
    const r = await decide(ctx, list, meta.id, 'approve', 'bench');
    if (r.status !== 'done') throw new Error(`${meta.id}: ${r.message}`);
  }
  const approve = (performance.now() - t) / listed.length;
  const used = process.cpuUsage(cpu);
  console.log(
    `${name}: ${posts} posts; hold ${hold.toFixed(2)} ms/post, list ${listMs.toFixed(1)} ms, ` +
      `approve ${approve.toFixed(2)} ms/post; CPU ${((used.user + used.system) / 1000 / posts / 2).toFixed(2)} ms/op`,
  );
}

const dir = await mkdtemp(join(tmpdir(), 'malist-bench-held-'));
const pg = arg('--url') ? undefined : await startPostgres();
try {
  await run('files', fileHeldStorage(join(dir, 'files')), join(dir, 'files'));
  const url = arg('--url') ?? (await pg!.createDatabase('bench_held'));
  const db = await openDatabase(url);
  try {
    await run('postgres', await pgHeldStorage(db), join(dir, 'pg'));
  } finally {
    await db.close();
  }
} finally {
  await pg?.stop();
  await rm(dir, { recursive: true, force: true });
}
