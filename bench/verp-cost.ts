/**
 * One bench case in its own process: what VERP with cookies adds to a post's fan-out, per
 * recipient, beyond plain VERP — the sender with its cookie (an HMAC per member,
 * config/verp.ts, made by the queue just before each transaction) and the post's line in the
 * sent index (bounces/sent-index.ts, one append per delivery report). Measured apart from the
 * SMTP path because that path's wall time on a loaded machine hides a few microseconds; CPU
 * time is what these steps cost whatever the load. Prints one JSON line: the median of five
 * rounds over 10,000 members. At 10,000 recipients/s a recipient has 100 µs in all.
 *
 *   node --import tsx bench/verp-cost.ts     (or `npm run bench -- --cookies`)
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SentIndex } from '../src/bounces/sent-index.ts';
import { listVerpSender } from '../src/config/verp.ts';
import { LIST_ADDRESS, makeMembers } from './post.ts';

export interface VerpCostOutput {
  members: number;
  /** CPU µs per recipient to make its VERP sender with the cookie. */
  senderCpuUs: number;
  /** CPU µs per recipient of the post's sent-index line (hashing and the append). */
  indexCpuUs: number;
  /** Wall ms of the sent-index append for the whole post (the disk's share). */
  indexWallMs: number;
  /** Bytes the sent index holds for the post. */
  indexBytes: number;
}

const MEMBERS = 10_000;
const members = makeMembers(MEMBERS);
const list = { name: 'bench', address: LIST_ADDRESS, members: [] };
const sender = listVerpSender([list], Buffer.alloc(32, 7));
const bounce = `${LIST_ADDRESS.replace('@', '-bounces@')}`;
const work = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'malist-verp-cost-'));
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  const senderRuns: number[] = [];
  const indexRuns: number[] = [];
  const indexWalls: number[] = [];
  let bytes = 0;
  for (let round = 0; round < 5; round++) {
    let t = cpuUs();
    const senderFor = sender({ id: `r${round}`, list: 'bench', sender: bounce });
    if (!senderFor) throw new Error('no VERP sender for the bench list');
    let length = 0;
    for (const m of members) length += senderFor(m).length;
    senderRuns.push((cpuUs() - t) / MEMBERS);
    if (length === 0) throw new Error('empty senders');
    const index = new SentIndex(join(work, `state${round}`));
    t = cpuUs();
    const wall = performance.now();
    await index.record('bench', `<post-${round}@list.example.test>`, members, Date.now());
    indexWalls.push(performance.now() - wall);
    indexRuns.push((cpuUs() - t) / MEMBERS);
    const days = join(index.dir, 'bench');
    bytes = 0;
    for (const day of await readdir(days)) bytes += (await stat(join(days, day))).size;
  }
  const out: VerpCostOutput = {
    members: MEMBERS,
    senderCpuUs: median(senderRuns),
    indexCpuUs: median(indexRuns),
    indexWallMs: median(indexWalls),
    indexBytes: bytes,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
} finally {
  await rm(work, { recursive: true, force: true });
}
