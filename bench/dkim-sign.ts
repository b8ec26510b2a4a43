/**
 * Signing personalised copies (issue 19): the queue's per-recipient step for a list whose
 * copies differ per member (a footer naming the member, an RFC 8058 one-click URL), so each
 * copy is DKIM-signed (and optionally ARC-sealed) for itself, then self-checked.
 *
 * Runnable on its own, and one of `npm run bench`'s sections (bench/run.ts):
 *   node --import tsx bench/dkim-sign.ts             every case, each in its own child, a table
 *   node --import tsx bench/dkim-sign.ts '<json>'    one case (SignCaseInput), one JSON line
 * Flags (all cases): --copies N (default 10,000).
 *
 * A case makes a 5 KB post once, then for each member its copy (personal List-Unsubscribe,
 * List-Unsubscribe-Post and footer) and signs it: on the calling thread one after another,
 * or through the worker pool with up to 16 copies in flight per thread (what the queue's
 * connections would keep busy). Time runs from the first copy to the last signed one; key
 * generation and worker start-up are outside it.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CopySigner, createCopySigner } from '../src/auth/copy-signer.ts';
import { type DkimAlgorithm, type DkimKeyOptions, loadSigningKey } from '../src/auth/keys.ts';
import { createSignerPool } from '../src/auth/signer-pool.ts';
import { makePost } from './post.ts';

export interface SignCaseInput {
  algorithm: DkimAlgorithm;
  copies: number;
  selfCheck: boolean;
  /** 0: the calling thread; otherwise a worker pool of that many threads. */
  threads: number;
  /** ARC-seal every copy too (rsa-sha256), as a sealing list with personal copies must. */
  seal?: boolean;
}

export interface SignCaseOutput {
  copies: number;
  ms: number;
  perSecond: number;
  maxRssKb: number;
  rssBeforeKb: number;
  /** CPU time of the whole process (every thread) during the case. */
  cpuUserMs: number;
  cpuSysMs: number;
}

/** The cases `npm run bench` and this script run. */
export function signCases(copies: number): SignCaseInput[] {
  const base = { copies, seal: false };
  return [
    { ...base, algorithm: 'rsa-sha256', threads: 0, selfCheck: false },
    { ...base, algorithm: 'rsa-sha256', threads: 0, selfCheck: true },
    { ...base, algorithm: 'ed25519-sha256', threads: 0, selfCheck: false },
    { ...base, algorithm: 'ed25519-sha256', threads: 0, selfCheck: true },
    { ...base, algorithm: 'rsa-sha256', threads: 2, selfCheck: false },
    { ...base, algorithm: 'rsa-sha256', threads: 2, selfCheck: true },
    { ...base, algorithm: 'ed25519-sha256', threads: 2, selfCheck: true },
    { ...base, algorithm: 'rsa-sha256', threads: 2, selfCheck: true, seal: true },
  ];
}

/** A row's name. */
export function signCaseName(c: SignCaseInput): string {
  const where = c.threads === 0 ? 'one thread' : `pool of ${c.threads} threads`;
  const what = c.seal ? `${c.algorithm} + ARC seal` : c.algorithm;
  return `${c.copies.toLocaleString('en')} personalised copies signed, ${what}${c.algorithm === 'rsa-sha256' ? ' 2048' : ''}, ${where}, self-check ${c.selfCheck ? 'on' : 'off'}`;
}

const PER_THREAD_IN_FLIGHT = 16;
const DOMAIN = 'list.example.test';

/** The copy for member `i`: the post's header, personal unsubscribe fields, body, footer. */
function copyMaker(): (i: number) => Buffer {
  const post = makePost(5 * 1024, 'sign-bench').toString('latin1');
  const cut = post.indexOf('\n\n') + 1;
  const head = post.slice(0, cut);
  const body = post.slice(cut);
  return (i) => {
    const url = `https://${DOMAIN}/unsubscribe/bench/m${i}%40example.test/${(i * 7919).toString(36)}`;
    return Buffer.from(
      `${head}List-Id: <bench.${DOMAIN}>\nList-Unsubscribe: <${url}>\n` +
        `List-Unsubscribe-Post: List-Unsubscribe=One-Click\n\n${body}` +
        `-- \nYou are m${i}@example.test. Leave the list: ${url}\n`,
      'latin1',
    );
  };
}

async function writeKey(
  dir: string,
  algorithm: DkimAlgorithm,
  selector: string,
): Promise<DkimKeyOptions> {
  const pair =
    algorithm === 'ed25519-sha256'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const file = join(dir, `${selector}.pem`);
  await writeFile(file, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return { domain: DOMAIN, selector, key_file: file, algorithm };
}

/** Runs one case in this process. */
export async function runSignCase(input: SignCaseInput): Promise<SignCaseOutput> {
  const dir = await mkdtemp(join(tmpdir(), 'malist-bench-sign-'));
  try {
    const dkim = await writeKey(dir, input.algorithm, 'bench');
    const arc = input.seal ? await writeKey(dir, 'rsa-sha256', 'arc') : undefined;
    const plan = { authResults: `${DOMAIN}; dkim=pass header.d=example.test`, cv: 'none' as const };
    const copy = copyMaker();
    const pool =
      input.threads > 0
        ? createSignerPool({
            dkim: [dkim],
            arc,
            selfCheck: input.selfCheck,
            threads: input.threads,
          })
        : undefined;
    const signer: CopySigner =
      pool ??
      createCopySigner({
        dkim: [await loadSigningKey(dkim)],
        arc: arc ? await loadSigningKey(arc) : undefined,
        selfCheck: input.selfCheck,
      });
    const seal = input.seal ? plan : undefined;
    // Warm up (workers load their keys, the JIT sees the code) outside the timing.
    await Promise.all(
      Array.from({ length: Math.max(1, input.threads) * 4 }, (_, i) => signer.sign(copy(i), seal)),
    );
    const rssBeforeKb = Math.round(process.memoryUsage().rss / 1024);
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    if (!pool) for (let i = 0; i < input.copies; i++) await signer.sign(copy(i), seal);
    else
      await inFlight(input.copies, input.threads * PER_THREAD_IN_FLIGHT, (i) =>
        signer.sign(copy(i), seal),
      );
    const ms = performance.now() - t0;
    const used = process.cpuUsage(cpu);
    await pool?.close();
    return {
      copies: input.copies,
      ms,
      perSecond: (input.copies / ms) * 1000,
      maxRssKb: process.resourceUsage().maxRSS,
      rssBeforeKb,
      cpuUserMs: used.user / 1000,
      cpuSysMs: used.system / 1000,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs `task(0…n-1)` with at most `limit` at once. */
async function inFlight(
  n: number,
  limit: number,
  task: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, lane));
}

/** Runs one case in a child process (its RSS its own); resolves its output. */
export function signCaseInChild(script: string, input: SignCaseInput): Promise<SignCaseOutput> {
  return new Promise((resolve, reject) => {
    const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
    const proc = spawn(process.execPath, [...loader, script, JSON.stringify(input)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), 900_000);
    proc.on('error', reject);
    proc.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`${script} exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as SignCaseOutput);
    });
  });
}

const self = fileURLToPath(import.meta.url);
if (process.argv[1] === self) {
  const arg = process.argv[2];
  if (arg?.startsWith('{')) {
    process.stdout.write(
      `${JSON.stringify(await runSignCase(JSON.parse(arg) as SignCaseInput))}\n`,
    );
  } else {
    const at = process.argv.indexOf('--copies');
    const copies = at > 0 ? Number(process.argv[at + 1]) : 10_000;
    const load = loadavg();
    const lines = [
      '| case | copies/s | wall | CPU (user+sys) | peak RSS |',
      '|---|--:|--:|--:|--:|',
    ];
    for (const input of signCases(copies)) {
      process.stderr.write(`… ${signCaseName(input)}\n`);
      const out = await signCaseInChild(self, input);
      lines.push(
        `| ${signCaseName(input)} | ${Math.round(out.perSecond).toLocaleString('en')} | ${(out.ms / 1000).toFixed(2)} s | ${((out.cpuUserMs + out.cpuSysMs) / 1000).toFixed(2)} s | ${(out.maxRssKb / 1024).toFixed(0)} MB |`,
      );
    }
    process.stdout.write(
      `${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), Node ${process.version}, load average at start ${load.map((l) => l.toFixed(2)).join(' ')}, at end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n\n${lines.join('\n')}\n`,
    );
  }
}
