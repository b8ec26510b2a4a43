/** What the network fetchers (POP3, IMAP) share about reaching their server. */
import { readFile } from 'node:fs/promises';
import { StageError } from '../errors.ts';

export type MailboxTlsMode = 'implicit' | 'starttls' | 'none';

/** How a fetcher reaches its server, with `where` naming it in messages. */
export interface ServerAddress {
  tls: MailboxTlsMode;
  port: number;
  /** "pop3 server host:995 (implicit TLS)". */
  where: string;
}

/** The TLS mode (default STARTTLS), the port (default by mode), and how to name them. */
export function serverAddress(
  unit: string,
  options: { host: string; port?: number; tls?: MailboxTlsMode },
  ports: { implicit: number; plain: number },
): ServerAddress {
  const tls = options.tls ?? 'starttls';
  const port = options.port ?? (tls === 'implicit' ? ports.implicit : ports.plain);
  const mode = tls === 'none' ? 'no TLS' : tls === 'implicit' ? 'implicit TLS' : 'STARTTLS';
  return { tls, port, where: `${unit} server ${options.host}:${port} (${mode})` };
}

/** The PEM text of `caFile`; a file that cannot be read is a configuration error. */
export async function readCaFile(path: string, unit: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new StageError(`cannot read the CA file (ca_file) ${path}: ${(error as Error).message}`, {
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
