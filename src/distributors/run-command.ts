/**
 * Running a program with a post on its standard input, for the distributors that hand mail
 * to another program (sendmail, pipe), and what its exit code means (sysexits.h).
 */
import { spawn } from 'node:child_process';
import type { RecipientStatus } from '../types.ts';

/** What an exit code means for the recipients: 0 taken, 67/68 never, anything else later. */
export function statusOfExit(code: number | null): RecipientStatus {
  if (code === 0) return 'delivered';
  // EX_NOUSER, EX_NOHOST: the MTA will never deliver these.
  if (code === 67 || code === 68) return 'failed';
  return 'deferred';
}

export function runWithInput(
  path: string,
  args: string[],
  input: Buffer,
  timeoutMs: number,
  env?: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, {
      stdio: ['pipe', 'ignore', 'pipe'],
      timeout: timeoutMs,
      ...(env ? { env } : {}),
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4000) stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr: stderr.trim() }));
    // A binary that exits without reading stdin (bad option) must not crash us with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}
