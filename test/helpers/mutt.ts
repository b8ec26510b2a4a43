/**
 * Driving Debian's mutt in a test, without a terminal of our own: `script` gives mutt a
 * pseudo-terminal, `-F /dev/null -n` keeps any user or system configuration out, `-R`
 * opens read-only, and pushed keys pipe what mutt parsed to a file we then read — in one
 * pipe command, so there is no sequence of steps for load to cut short. When
 * mutt (or script) is missing the suite is skipped loudly — and fails under CI=true.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCommand } from './has-command.ts';

/** True when mutt can be driven; false (with a loud note) to skip; throws under CI. */
export function muttAvailable(): boolean {
  if (hasCommand('mutt') && hasCommand('script')) return true;
  const why = 'mutt (or script from util-linux) is not installed: the mutt checks are SKIPPED';
  if (process.env.CI === 'true') throw new Error(`${why}; CI must have it (apt-get install mutt)`);
  process.stderr.write(`\n*** ${why} ***\n\n`);
  return false;
}

/**
 * Runs mutt on `file` with `keys` pushed, then a last key that writes `done`: mutt that
 * stopped short of its keys (they were flushed, or it was killed) is an error, never a
 * quietly shorter answer. The timeout is generous: under load a run waits, it never races.
 */
async function runMutt(file: string, settings: string, keys: string, done: string): Promise<void> {
  const push = `push "${`${keys}<shell-escape>touch ${done}<enter><exit>`.replace(/"/g, '\\"')}"`;
  const cmd = `mutt -n -F /dev/null -R -f '${file}' -e '${settings}' -e '${push.replace(/'/g, "'\\''")}'`;
  await new Promise<void>((resolve, reject) => {
    execFile(
      'script',
      ['-qec', cmd, '/dev/null'],
      { env: { ...process.env, TERM: 'xterm' }, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error) => (error ? reject(error) : resolve()),
    );
  });
  if (!existsSync(done)) throw new Error(`mutt ended before the last of its keys: ${keys}`);
}

const SEP = '=====MALIST-MUTT-SEP=====';

/** Every message mutt finds in a mailbox file, as mutt pipes it (raw, LF line ends). */
export async function muttMessages(mailbox: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'malist-mutt-'));
  const out = join(dir, 'out.txt');
  await runMutt(
    mailbox,
    `set sort=mailbox-order wait_key=no pipe_decode=no pipe_split=no pipe_sep="${SEP}\\n"`,
    `<tag-pattern>~A<enter><tag-prefix><pipe-message>cat > ${out}<enter>`,
    join(dir, 'done'),
  );
  const text = await readFile(out, 'latin1');
  return text.split(`${SEP}\n`).filter((m) => m !== '');
}
