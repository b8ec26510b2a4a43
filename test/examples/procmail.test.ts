/**
 * The shipped procmail recipe, run by real procmail: a post for red is piped into
 * `malist receive` and distributed; when malist cannot store it (exit 75) procmail hands
 * 75 to the MTA and files nothing locally, so the MTA keeps the mail and retries.
 */
import { execFileSync } from 'node:child_process';
import { access, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MALIST, post, ROOT, runCommand, tempConfig } from '../cli/run-malist.ts';

function findProcmail(): string | undefined {
  try {
    return (
      execFileSync('sh', ['-c', 'command -v procmail'], { encoding: 'utf8' }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

const procmail = findProcmail();
if (!procmail) {
  const text =
    '\n!!!!!!!! procmail is not installed: the procmail recipe test is SKIPPED !!!!!!!!\n';
  if (process.env.CI === 'true')
    throw new Error(`${text}(CI=true: this is a failure; apt-get install procmail)`);
  console.warn(text);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function countDelivered(dir: string): Promise<number> {
  let n = 0;
  for (const rcpt of await readdir(join(dir, 'out')).catch(() => []))
    n += (await readdir(join(dir, 'out', rcpt, 'new'))).length;
  return n;
}

/** procmail -m VAR=… RCFILE < post, the way an MTA's mailbox_command would run it. */
function runProcmail(dir: string, input: Buffer) {
  return runCommand(
    procmail!,
    [
      '-m',
      `MALIST=${process.execPath} ${MALIST}`,
      `MALIST_CONFIG=${dir}`,
      `DEFAULT=${join(dir, 'default.mbox')}`,
      `LOGFILE=${join(dir, 'procmail.log')}`,
      join(ROOT, 'examples/procmailrc'),
    ],
    { cwd: dir, input, timeoutMs: 30_000 },
  );
}

describe.skipIf(!procmail)('examples/procmailrc under real procmail', () => {
  it('pipes a list post into malist receive: distributed to the members and the archive', async () => {
    const dir = await tempConfig();
    const r = await runProcmail(dir, await readFile(post('01-member-post.eml')));
    expect(r.code).toBe(0);
    expect(await countDelivered(dir)).toBe(4);
    const copy = await readFile(
      join(
        dir,
        'out/bob@example.net/new',
        (await readdir(join(dir, 'out/bob@example.net/new')))[0]!,
      ),
      'utf8',
    );
    expect(copy).toContain('Subject: [Red] Meeting notes for Thursday');
    expect(await exists(join(dir, 'default.mbox'))).toBe(false);
  });

  it('exit 75 from malist reaches the MTA and nothing is filed locally; the retry distributes it', async () => {
    const dir = await tempConfig(
      'state_dir: blocked/state\ndistribute:\n  type: maildir\n  dir: out\nreactors: [stderr-logger]\n',
    );
    await writeFile(join(dir, 'blocked'), 'a regular file: nothing can be created below it\n');
    const input = await readFile(post('02-reply.eml'));
    const failed = await runProcmail(dir, input);
    expect(failed.code).toBe(75);
    expect(await exists(join(dir, 'default.mbox'))).toBe(false);
    expect(await countDelivered(dir)).toBe(0);
    expect(await readFile(join(dir, 'procmail.log'), 'utf8')).toContain('Program failure (75)');

    await writeFile(
      join(dir, 'malist.yaml'),
      'state_dir: state\ndistribute:\n  type: maildir\n  dir: out\n',
    );
    const retried = await runProcmail(dir, input);
    expect(retried.code).toBe(0);
    expect(await countDelivered(dir)).toBe(4);
  });
});
