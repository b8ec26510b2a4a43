/**
 * `malist run`: the embedded default runs the shipped lists on a fresh checkout with no
 * server, can be run again and again (the journal skips what it handled), and a second
 * run does nothing while another holds the lock — until that holder is provably gone.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { currentHolder, formatHolder, processStartTime } from '../../src/state/lock.ts';
import { MALIST, malist, ROOT, runCommand } from './run-malist.ts';

async function freshCheckout(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'malist-run-'));
  await cp(join(ROOT, 'lists'), join(dir, 'lists'), { recursive: true });
  return dir;
}

describe('malist run with the embedded default', () => {
  it('says it uses the embedded default, seeds the demo inbox, distributes, and skips on the next run', async () => {
    const dir = await freshCheckout();
    const first = await malist(['run'], { cwd: dir });
    expect(first.code).toBe(0);
    expect(first.stdout.split('\n')).toEqual([
      `malist: no malist.yaml in ${dir}; using the embedded default (mail from var/demo/inbox, delivered into var/demo/out/<recipient>/new, no server)`,
      expect.stringMatching(
        /^malist: the demo inbox was empty; seeded it with 4 example posts from .*examples\/posts/,
      ),
      'fetched 4 from maildir var/demo/inbox',
      'announce (announce@list.example.com): 1 post — 4 delivered',
      'dev (dev@list.example.com): nothing new',
      'red (red@list.example.com): 2 posts — 8 delivered, 1 held',
      '',
    ]);
    expect(first.stderr).toBe('');
    const boxes = await readdir(join(dir, 'var/demo/out'));
    expect(boxes.sort()).toContain('erin@example.com');
    expect(await readdir(join(dir, 'var/demo/out/alice@example.org/new'))).toHaveLength(3);
    expect(await readdir(join(dir, 'var/demo/state/held/red'))).toHaveLength(2);
    const deliveries = (await readFile(join(dir, 'var/demo/delivery.log'), 'utf8'))
      .trim()
      .split('\n');
    expect(deliveries).toHaveLength(4);
    // Posts are handled several at once (concurrency): the lines come in finishing order.
    expect(deliveries.find((line) => line.includes('outcome=held'))).toMatch(
      /^\S+Z list=red outcome=held recipients=0 refused=0 deferred=0 delivered=0 queued=0 message-id=<offer-88213@elsewhere\.example> reason="mallory@elsewhere\.example is not a member of red@list\.example\.com"$/,
    );
    const events = (await readFile(join(dir, 'var/demo/malist.jsonl'), 'utf8')).trim().split('\n');
    expect(events.map((e) => JSON.parse(e))).toEqual([
      expect.objectContaining({
        kind: 'hold',
        list: 'red',
        unit: 'posting-policy',
        message_id: 'offer-88213@elsewhere.example',
      }),
    ]);

    const second = await malist(['run'], { cwd: dir });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('red (red@list.example.com): nothing new');
    expect(second.stdout).toContain(
      '4 already handled, skipped (the journal in var/demo/state/journal recognised them)',
    );
    expect(await readdir(join(dir, 'var/demo/out/alice@example.org/new'))).toHaveLength(3);
  });

  it('does nothing while a live process holds the lock, and takes over a dead holder’s lock', async () => {
    const dir = await freshCheckout();
    await mkdir(join(dir, 'var/demo/state'), { recursive: true });
    const lock = join(dir, 'var/demo/state/run.lock');
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const pid = sleeper.pid!;
      const holder = { host: currentHolder().host, pid, start: processStartTime(pid) ?? '0' };
      await writeFile(lock, `${formatHolder(holder)}\n`);
      const busy = await malist(['run'], { cwd: dir });
      expect(busy.code).toBe(0);
      expect(busy.stdout).toContain(
        `malist run: another run (pid ${pid} on ${holder.host}) is still working on var/demo/state; nothing done`,
      );
      expect(busy.stdout).not.toContain('fetched');
    } finally {
      sleeper.kill('SIGKILL');
    }
    await new Promise((resolve) => sleeper.once('exit', resolve));
    // --quiet (cron): four posts handled and nothing that needs the operator: no output.
    const after = await malist(['run', '--quiet'], { cwd: dir });
    expect(after.code).toBe(0);
    expect(after.stdout).toBe('');
    expect(after.stderr).toBe('');
    expect(await readdir(join(dir, 'var/demo/out/alice@example.org/new'))).toHaveLength(3);
    await expect(readdir(join(dir, 'var/demo/state'))).resolves.not.toContain('run.lock');
  });

  it('exits 1 when something needs the operator (a source that cannot be read), 78 on bad config', async () => {
    const dir = await freshCheckout();
    await writeFile(join(dir, 'blocked'), 'a regular file\n');
    await writeFile(
      join(dir, 'malist.yaml'),
      'state_dir: state\nfetch:\n  - type: maildir\n    dir: blocked/inbox\ndistribute: { type: maildir, dir: out }\n',
    );
    const r = await malist(['run'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('fetched 0 from maildir blocked/inbox');
    expect(r.stderr).toMatch(
      /\nmalist run: needs attention \(exit 1\): maildir blocked\/inbox: .*ENOTDIR.*\n$/,
    );

    await writeFile(join(dir, 'malist.yaml'), 'state_dir: state\nfetch: []\n');
    const bad = await malist(['run'], { cwd: dir });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('malist.yaml:1:1 distribute: missing; expected');
  });

  it.skipIf(!hasScript())('shows progress only when stdout is a terminal', async () => {
    const dir = await freshCheckout();
    const command = `${process.execPath} ${MALIST} run`;
    const r = await runCommand('script', ['-qec', command, '/dev/null'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '\r\x1b[2K… 4 handled\r\x1b[2Kfetched 4 from maildir var/demo/inbox',
    );
  });
});

function hasScript(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v script']);
    return true;
  } catch {
    return false;
  }
}
