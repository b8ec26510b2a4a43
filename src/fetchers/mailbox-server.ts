/** What the network fetchers (POP3, IMAP) share about reaching their server. */
import { readFile } from 'node:fs/promises';
import { StageError } from '../errors.ts';

/** "pop3 server host:995 (implicit TLS)": where an error happened, for messages. */
export function describeServer(
  unit: string,
  host: string,
  port: number,
  tls: 'implicit' | 'starttls' | 'none',
): string {
  const mode = tls === 'none' ? 'no TLS' : tls === 'implicit' ? 'implicit TLS' : 'STARTTLS';
  return `${unit} server ${host}:${port} (${mode})`;
}

/** The PEM text of `caFile`; a file that cannot be read is a configuration error. */
export async function readCaFile(path: string, unit: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new StageError(`cannot read caFile ${path}: ${(error as Error).message}`, {
      code: 'ECONFIG',
      unit,
      cause: error,
    });
  }
}

/** Waits before reconnect attempt `attempt` (0-based): 200 ms, doubling, at most 2 s. */
export function reconnectPause(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.min(200 * 2 ** attempt, 2000)));
}
