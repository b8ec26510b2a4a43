/**
 * One bench case in its own process (issue 23): 10,000 VERP copies of a 5 KB post through
 * the durable queue and the SES transport to the fake SES (test/helpers/fake-services.ts,
 * which checks each call's SigV4 signature and decodes the base64 body), one call per
 * member with its VERP sender (cookie) as the feedback address, 16 calls in flight, the
 * sent-log written after each 200. The fake runs in another process so this one's RSS is
 * the sender's alone. Prints one JSON line.
 *
 *   node --import tsx bench/ses.ts     (or `npm run bench -- --ses`)
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { listVerpSender } from '../src/config/verp.ts';
import { createQueue } from '../src/queue/queue.ts';
import { createSesTransport } from '../src/smtp/services/ses.ts';
import { startFakeSes, TEST_AWS } from '../test/helpers/fake-services.ts';
import { LIST_ADDRESS, makeMembers, makePost } from './post.ts';

export interface SesCaseOutput {
  copies: number;
  delivered: number;
  calls: number;
  wallMs: number;
  perSecond: number;
  maxRssMb: number;
  cpuMs: number;
}

if (process.argv[2] === 'fake') {
  const fake = await startFakeSes();
  fake.onAccepted = (call) => {
    // Keep the count, not 50 MB of bodies.
    call.raw = Buffer.alloc(0);
  };
  process.stdout.write(`${fake.url}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void fake.stop().then(() => process.exit(0)));
} else {
  const COPIES = Number(process.argv[2] ?? 10_000);
  const fakeProc = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), 'fake'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve) =>
    createInterface({ input: fakeProc.stdout! }).once('line', resolve),
  );
  const work = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), 'malist-ses-bench-'));
  const list = { name: 'bench', address: LIST_ADDRESS, members: [] };
  const queue = createQueue(
    { dir: join(work, 'spool') },
    {
      transport: createSesTransport(
        {
          region: TEST_AWS.region,
          endpoint: url,
          access_key_id: TEST_AWS.keyId,
          secret_access_key: TEST_AWS.secret,
          max_connections: 16,
        },
        {},
      ),
      sender: listVerpSender([list], Buffer.alloc(32, 7)),
    },
  );
  const members = makeMembers(COPIES);
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const { results } = await queue.enqueue({
    id: 'ses-bench',
    raw: makePost(5 * 1024, 'ses-bench'),
    sender: LIST_ADDRESS.replace('@', '-bounces@'),
    recipients: members,
    list: 'bench',
  });
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  await queue.close();
  fakeProc.stdin!.end();
  await rm(work, { recursive: true, force: true });
  const delivered = results.filter((r) => r.status === 'delivered').length;
  const out: SesCaseOutput = {
    copies: COPIES,
    delivered,
    calls: COPIES,
    wallMs,
    perSecond: (delivered / wallMs) * 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
