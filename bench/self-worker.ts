/**
 * What the PostgreSQL bench scripts share: a fresh database for each case, and a worker —
 * the same script run again as a child with `--worker` and the given arguments (its own
 * process, so its CPU and RSS are its own), answering one JSON document on stdout.
 */
import { spawn } from 'node:child_process';
import { openDatabase } from '../src/state/pg.ts';

/** A new database on the server of `url`; its URL. */
export async function freshDatabase(url: string, name: string): Promise<string> {
  const db = await openDatabase(url);
  try {
    await db.query(`CREATE DATABASE ${name}`);
  } finally {
    await db.close();
  }
  const next = new URL(url);
  next.pathname = `/${name}`;
  return next.toString();
}

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
