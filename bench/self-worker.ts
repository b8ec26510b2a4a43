/**
 * A bench script's worker: the same script run again as a child with `--worker` and the
 * given arguments (its own process, so its CPU and RSS are its own), answering one JSON
 * document on stdout.
 */
import { spawn } from 'node:child_process';

export function runSelfAsWorker<T>(script: string, extra: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, '--worker', ...extra], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out) as T) : reject(new Error(`worker exit ${code}`)),
    );
  });
}
