/**
 * A POP3/IMAP connection cut in the middle of a download: a TCP proxy in front of a real
 * Dovecot forwards the TLS bytes and, once, cuts both sides after a given number of bytes
 * from the server — in the middle of a 300 KB message. The run is then repeated through a
 * healthy proxy; every post must reach every member once and nothing may stay behind.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeaderBlock } from '../../../src/mail/header-block.ts';
import type { CrashScenarioConfig } from '../../helpers/crash-scenario.ts';
import type { Dovecot } from '../../helpers/dovecot.ts';
import { runChild, tally } from '../crash/harness.ts';
import { SCENARIO_SCRIPT } from '../crash/scenarios.ts';

export interface DropResult {
  kind: 'pop3' | 'imap';
  /** Bytes from the server after which the connection was cut. */
  cutAfter: number;
  cut: boolean;
  firstExit: number | null;
  sees: string;
  delivered: number;
  lost: number;
  duplicated: number;
  left: number;
  problems: string[];
}

/** A proxy that cuts the first connection after `cutAfter` bytes from upstream. */
async function cuttingProxy(
  upstreamPort: number,
  cutAfter: number,
): Promise<{ port: number; cut: () => boolean; heal(): void; close(): Promise<void> }> {
  let armed = true;
  let didCut = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    const upstream = connect(upstreamPort, '127.0.0.1');
    sockets.add(upstream);
    let fromServer = 0;
    const cutThis = armed;
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d: Buffer) => {
      fromServer += d.length;
      if (cutThis && fromServer > cutAfter) {
        const keep = d.length - (fromServer - cutAfter);
        if (keep > 0) client.write(d.subarray(0, keep));
        didCut = true;
        armed = false;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    cut: () => didCut,
    heal() {
      armed = false;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const MEMBERS = ['alice@example.com', 'bob@example.com', 'carol@example.com'];

function posts(id: string): Buffer[] {
  const big = `${'0123456789abcdef'.repeat(63)}\r\n`.repeat(300); // ~300 KB
  return ['small one', big, 'small two'].map((body, i) =>
    Buffer.from(
      [
        `From: Alice <${MEMBERS[0]}>`,
        'To: red@list.example.com',
        `Subject: drop ${i}`,
        `Message-ID: <${id}.p${i}@drop.test>`,
        '',
        body,
        '',
      ].join('\r\n'),
    ),
  );
}

async function maildirPairs(out: string): Promise<string[]> {
  const pairs: string[] = [];
  for (const rcpt of await readdir(out).catch(() => [] as string[])) {
    for (const sub of ['new', 'cur']) {
      for (const file of await readdir(join(out, rcpt, sub)).catch(() => [] as string[])) {
        const raw = await readFile(join(out, rcpt, sub, file));
        const mid = /<([^>]*)>/.exec(HeaderBlock.parse(raw).header.get('Message-ID') ?? '')?.[1];
        pairs.push(`${mid} -> ${rcpt}`);
      }
    }
  }
  return pairs;
}

function firstSummary(stdout: string): string {
  try {
    const { summary } = JSON.parse(stdout.trim().split('\n').pop() ?? '') as {
      summary: { fetched: number; distributed: number; fetchError?: unknown };
    };
    const whole = summary.fetched === 3 && !summary.fetchError;
    return `the run fetched ${summary.fetched} of 3, distributed ${summary.distributed}${whole ? ': the fetcher reconnected by itself' : ''}`;
  } catch {
    return 'no summary';
  }
}

/** One drop: cut mid-download, then a healthy run; counts at the receiving maildirs. */
export async function runDrop(
  dovecot: Dovecot,
  kind: 'pop3' | 'imap',
  user: string,
  cutAfter = 120_000,
): Promise<DropResult> {
  const id = `drop-${kind}-${Date.now().toString(36)}`;
  const root = await mkdtemp(join(tmpdir(), `malist-drop-${kind}-`));
  const raws = posts(id);
  for (const raw of raws) await dovecot.deliver(user, raw);
  const proxy = await cuttingProxy(
    kind === 'pop3' ? dovecot.ports.pop3s : dovecot.ports.imaps,
    cutAfter,
  );
  const problems: string[] = [];
  try {
    const config: CrashScenarioConfig = {
      inbox: join(root, 'inbox'),
      state: join(root, 'state'),
      out: join(root, 'out'),
      members: MEMBERS,
      [kind]: {
        host: '127.0.0.1',
        port: proxy.port,
        tls: 'implicit',
        caFile: dovecot.caFile,
        user: dovecot.address(user),
        password: dovecot.password(user),
        stateDir: join(root, 'state'),
        tmpDir: root,
        timeout: 10_000,
        ...(kind === 'imap' ? { lockTimeout: 10_000 } : {}),
      },
    };
    const configPath = join(root, 'scenario.json');
    await writeFile(configPath, JSON.stringify(config));
    const first = await runChild(SCENARIO_SCRIPT, [configPath], { timeoutMs: 60_000 });
    if (!proxy.cut()) problems.push('the proxy never cut the connection (message too small?)');
    proxy.heal();
    const sees =
      first.stderr
        .split('\n')
        .find((l) => /lost|clos|ECONN|reset|socket|connection/i.test(l))
        ?.trim() ?? `(nothing on stderr; exit ${first.code}; ${firstSummary(first.stdout)})`;
    let second = await runChild(SCENARIO_SCRIPT, [configPath], { timeoutMs: 60_000 });
    if (second.code !== 0)
      second = await runChild(SCENARIO_SCRIPT, [configPath], { timeoutMs: 60_000 });
    if (second.code !== 0)
      problems.push(`the healthy run exited ${second.code}: ${second.stderr.trim().slice(0, 300)}`);
    const expected = raws.flatMap((_, i) => MEMBERS.map((m) => `${id}.p${i}@drop.test -> ${m}`));
    const left = (await dovecot.messages(user)).length;
    const t = tally(expected, await maildirPairs(join(root, 'out')), left);
    problems.push(...t.examples);
    if (t.left) problems.push(`${t.left} mails left in the mailbox`);
    return {
      kind,
      cutAfter,
      cut: proxy.cut(),
      firstExit: first.code,
      sees: sees.slice(0, 200),
      delivered: t.received,
      lost: t.lost,
      duplicated: t.duplicated,
      left: t.left,
      problems,
    };
  } finally {
    await proxy.close();
    await rm(root, { recursive: true, force: true });
  }
}

export function formatDrops(rows: DropResult[]): string {
  return [
    'mailbox connection cut mid-download (proxy in front of Dovecot), then a healthy run',
    ...rows.map(
      (r) =>
        `  ${r.kind}: cut after ${r.cutAfter} bytes=${r.cut}, first run exit ${r.firstExit}; ` +
        `${r.delivered} (post, recipient) pairs delivered, ${r.lost} lost, ${r.duplicated} duplicated, ${r.left} left; ` +
        `operator sees: ${r.sees}`,
    ),
  ].join('\n');
}
