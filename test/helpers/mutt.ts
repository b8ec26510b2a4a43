/**
 * Driving Debian's mutt in a test, without a terminal of our own: `script` gives mutt a
 * pseudo-terminal, `-F /dev/null -n` keeps any user or system configuration out, `-R`
 * opens read-only, and pushed keys pipe what mutt parsed to a file we then read. When
 * mutt (or script) is missing the suite is skipped loudly — and fails under CI=true.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function has(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** True when mutt can be driven; false (with a loud note) to skip; throws under CI. */
export function muttAvailable(): boolean {
  if (has('mutt') && has('script')) return true;
  const why = 'mutt (or script from util-linux) is not installed: the mutt checks are SKIPPED';
  if (process.env.CI === 'true') throw new Error(`${why}; CI must have it (apt-get install mutt)`);
  process.stderr.write(`\n*** ${why} ***\n\n`);
  return false;
}

async function runMutt(file: string, settings: string, keys: string): Promise<void> {
  const push = `push "${keys.replace(/"/g, '\\"')}"`;
  const cmd = `mutt -n -F /dev/null -R -f '${file}' -e '${settings}' -e '${push.replace(/'/g, "'\\''")}'`;
  await new Promise<void>((resolve, reject) => {
    execFile(
      'script',
      ['-qec', cmd, '/dev/null'],
      { env: { ...process.env, TERM: 'xterm' }, timeout: 20_000 },
      (error) => (error ? reject(error) : resolve()),
    );
  });
}

const SEP = '=====MALIST-MUTT-SEP=====';

/** Every message mutt finds in a mailbox file, as mutt pipes it (raw, LF line ends). */
export async function muttMessages(mailbox: string): Promise<string[]> {
  const out = join(await mkdtemp(join(tmpdir(), 'malist-mutt-')), 'out.txt');
  await runMutt(
    mailbox,
    `set sort=mailbox-order wait_key=no pipe_decode=no pipe_split=no pipe_sep="${SEP}\\n"`,
    `<tag-pattern>~A<enter><tag-prefix><pipe-message>cat > ${out}<enter><exit>`,
  );
  const text = await readFile(out, 'latin1');
  return text.split(`${SEP}\n`).filter((m) => m !== '');
}

/**
 * The entries of the first message's attachment menu (digests expanded), as mutt pipes
 * them: for a MIME digest, the contents, then each message/rfc822 part whole, and so on.
 */
export async function muttAttachments(mailbox: string, max = 40): Promise<string[]> {
  const out = join(await mkdtemp(join(tmpdir(), 'malist-mutt-')), 'out.txt');
  let keys = '<view-attachments>';
  for (let i = 0; i < max; i++)
    keys += `<pipe-entry>(echo ${SEP}; cat) >> ${out}<enter><next-entry>`;
  await runMutt(mailbox, 'set wait_key=no digest_collapse=no', `${keys}<exit><exit>`);
  const text = await readFile(out, 'latin1');
  const entries = text.split(`${SEP}\n`).filter((m) => m !== '');
  // <next-entry> on the last entry stays there: drop the repeats at the end.
  while (entries.length > 1 && entries.at(-1) === entries.at(-2)) entries.pop();
  return entries;
}
