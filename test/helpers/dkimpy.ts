/**
 * dkimpy (Debian python3-dkim, python3-authres for ARC) as the independent verifier of the
 * list's signatures and seals: an implementation that shares no code with malist or
 * mailauth, run through test/auth/dkimpy-verify.py, which answers DNS from a keys file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, '..', 'auth', 'dkimpy-verify.py');

export interface DkimpyResult {
  file: string;
  dkim: Array<{ d: string; s: string; a: string; ok: boolean; error: string | null }>;
  arc: { cv: string | null; reason: string };
}

/** Whether dkimpy and authres are importable; loud when not, a failure under CI=true. */
export function dkimpyAvailable(): boolean {
  try {
    if (existsSync(PYTHON)) {
      execFileSync(PYTHON, ['-c', 'import dkim, authres'], { stdio: 'ignore' });
      return true;
    }
  } catch {
    // reported below
  }
  const message =
    'python3-dkim / python3-authres are not installed: the independent DKIM/ARC verification is SKIPPED. ' +
    'Install python3-dkim python3-authres (Debian) to run it.';
  if (process.env.CI === 'true') throw new Error(`${message} Under CI=true this is a failure.`);
  console.warn(`\n${'!'.repeat(100)}\n!!! ${message}\n${'!'.repeat(100)}\n`);
  return false;
}

/** A dkimpy run that knows the TXT records `records` (name → text) and nothing else. */
export async function dkimpyVerifier(
  records: Record<string, string>,
): Promise<(messages: Buffer[]) => Promise<DkimpyResult[]>> {
  const dir = await mkdtemp(join(tmpdir(), 'malist-dkimpy-'));
  const keysFile = join(dir, 'keys.json');
  await writeFile(keysFile, JSON.stringify(records));
  let fileNo = 0;
  return async (messages) => {
    const files: string[] = [];
    for (const message of messages) {
      const file = join(dir, `${++fileNo}.eml`);
      await writeFile(file, message);
      files.push(file);
    }
    const out = execFileSync(PYTHON, [SCRIPT, keysFile, ...files], { encoding: 'utf8' });
    return out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as DkimpyResult);
  };
}
