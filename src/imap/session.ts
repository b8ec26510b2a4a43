/**
 * The IMAP session parts shared by the imap fetcher, `watch` (fetchers/imap-watch.ts) and
 * the imap-append distributor: imapflow loaded on first use, its options from ours, the
 * errors a user can act on, and compact UID sets.
 */
import type { ImapFlow, ImapFlowOptions } from 'imapflow';

/**
 * imapflow takes ~0.4 s to load: loaded on first use, so `malist receive` (and every
 * command without an IMAP source) starts without it.
 */
export async function loadImapFlow(): Promise<typeof ImapFlow> {
  return (await import('imapflow')).ImapFlow;
}

import { goneError, netError, StageError } from '../errors.ts';

export type ImapTlsMode = 'implicit' | 'starttls' | 'none';

const UNIT = 'imap';

/** What it takes to open an IMAP connection (a subset of the fetcher's options). */
export interface ImapConnectionOptions {
  host: string;
  port?: number;
  tls?: ImapTlsMode;
  servername?: string;
  /** false: accept any certificate (tests only). @default true */
  rejectUnauthorized?: boolean;
  user: string;
  password: string;
  timeout?: number;
  /** PEM text of the CA(s) to trust (read from `caFile` by the caller). */
  ca?: string;
}

/** The imapflow client options for these fetcher options (shared with `watch`). */
export function imapClientOptions(options: ImapConnectionOptions): ImapFlowOptions {
  const tls = options.tls ?? 'starttls';
  const timeout = options.timeout ?? 60_000;
  return {
    host: options.host,
    port: options.port ?? (tls === 'implicit' ? 993 : 143),
    secure: tls === 'implicit',
    doSTARTTLS: tls === 'starttls' ? true : tls === 'none' ? false : undefined,
    servername: options.servername,
    tls: { ca: options.ca, rejectUnauthorized: options.rejectUnauthorized ?? true },
    auth: { user: options.user, pass: options.password },
    logger: false,
    disableAutoIdle: true,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  };
}

/** Names what went wrong talking to an IMAP server, for users and reactors. */
export function imapError(
  error: unknown,
  ctx: { where: string; user: string; mailbox?: string },
): StageError {
  if (error instanceof StageError) return error;
  const e = error as {
    authenticationFailed?: boolean;
    mailboxMissing?: boolean;
    responseText?: string;
    code?: string;
    message?: string;
  };
  if (e?.authenticationFailed) {
    return new StageError(
      `${ctx.where} refused the login of ${ctx.user} (${e.responseText ?? e.message}): check \`user\` and the password.`,
      { code: 'EAUTH', unit: UNIT, cause: error },
    );
  }
  if (
    e?.mailboxMissing ||
    e?.code === 'NotFound' ||
    /NONEXISTENT|doesn't exist|does not exist/i.test(`${e?.responseText ?? ''} ${e?.message ?? ''}`)
  ) {
    return new StageError(
      `mailbox ${JSON.stringify(ctx.mailbox)} does not exist for ${ctx.user} on ${ctx.where}: check \`mailbox\`/\`moveTo\`.`,
      { code: 'ECONFIG', unit: UNIT, cause: error },
    );
  }
  if (e?.code === 'LockTimeout') {
    return new StageError(
      `timed out waiting for the lock on ${ctx.mailbox}: another operation holds it; will try again next run.`,
      { code: 'ECONNECTION', unit: UNIT, cause: error, temporary: true },
    );
  }
  if (e?.code === 'MissingServerExtension' || /STARTTLS/i.test(e?.message ?? '')) {
    const tlsProblem = netError(error, { unit: UNIT, where: ctx.where });
    if (tlsProblem) return tlsProblem;
    return new StageError(
      `${ctx.where} does not offer STARTTLS (${e.message}): use \`tls: implicit\` on the imaps port, or \`tls: none\` if you accept a clear-text password.`,
      { code: 'ETLS', unit: UNIT, cause: error },
    );
  }
  return goneError(error, { unit: UNIT, where: ctx.where });
}

/** A compact IMAP sequence set for `uids` (`1:3,7,9:10`), so thousands of UIDs stay one short line. */
export function uidSet(uids: number[]): string {
  const sorted = [...new Set(uids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}:${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
