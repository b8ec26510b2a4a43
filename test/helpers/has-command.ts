/** Whether a program the tests call (mutt, postconf, systemd-analyze, …) is on PATH. */
import { execFileSync } from 'node:child_process';

/** True when `command` is found on PATH. */
export function hasCommand(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
