/**
 * `type: imap-append` — stores a copy of the post in an IMAP folder (an archive, a shared
 * "Sent" folder) with APPEND, byte for byte. Idempotent: before appending it searches the
 * folder for the post's Message-ID, so a repeat after a crash does not store it twice.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ErrorCode, StageError } from '../errors.ts';
import { loadImapFlow } from '../imap/session.ts';
import { mailBytes, messageId } from '../mail/list-mail.ts';
import { smtpDeprecations, tlsConflicts, tlsFields, withTlsClientOptions } from '../smtp/schema.ts';
import type { DeliveryReport, Distributor, ListMail } from '../types.ts';

/** A CA given as PEM text is used as it is; anything else is the path of a PEM file. */
function caOf(ca: string | Buffer): string | Buffer {
  return typeof ca === 'string' && !ca.includes('-----BEGIN') ? readFileSync(ca) : ca;
}

export interface ImapAppendOptions {
  host: string;
  /** @default 993 with `secure`, else 143 */
  port?: number;
  /** Implicit TLS. @default true */
  secure?: boolean;
  /** STARTTLS policy when not `secure` (`opportunistic` is `required` here). @default 'required' */
  starttls?: 'required' | 'opportunistic' | 'never';
  /** Credentials; the password is already resolved and never logged. */
  auth: { user: string; pass: string };
  /** The folder to store the copy in (created when missing). @default 'INBOX' */
  folder?: string;
  /** Flags for the stored copy. @default ['\\Seen'] */
  flags?: string[];
  /** Skip the APPEND when the folder already has a message with the post's Message-ID. @default true */
  dedupe?: boolean;
  /** TLS settings: a private CA (PEM text or a file path), or (tests only) not verifying the certificate. */
  tls?: { ca?: string | Buffer; reject_unauthorized?: boolean; servername?: string };
  /** Connection, greeting and inactivity timeout, ms. @default 30000 */
  timeout_ms?: number;
}

/** The options of `type: imap-append` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z
  .strictObject({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).optional(),
    // The TLS keys of every server (tls: implicit | starttls | none, ca_file, …).
    ...tlsFields(),
    user: z.string().min(1),
    password: z.string({ error: 'expected password_env: VAR or password_file: PATH' }),
    folder: z.string().min(1).optional(),
    flags: z.array(z.string()).optional(),
    dedupe: z.boolean().optional(),
    timeout_ms: z.number().int().positive().optional(),
  })
  .superRefine(tlsConflicts)
  .transform(({ user, password, ...rest }) => ({
    ...withTlsClientOptions(rest),
    auth: { user, pass: password },
  }));

/** The old TLS keys (`secure`, `starttls`, `tls.ca`), with their new spelling. */
export const deprecated = (options: Record<string, unknown>) => smtpDeprecations(options);

export default function createImapAppendDistributor(options: ImapAppendOptions): Distributor {
  if (!options?.host || !options.auth) {
    throw new StageError('options host and auth are required', {
      code: ErrorCode.CONFIG,
      unit: 'imap-append',
    });
  }
  const folder = options.folder ?? 'INBOX';
  const secure = options.secure ?? true;
  const timeout = options.timeout_ms ?? 30_000;
  return {
    name: 'imap-append',
    async distribute(mail: ListMail): Promise<DeliveryReport> {
      const id = messageId(mail);
      const client = new (await loadImapFlow())({
        host: options.host,
        port: options.port ?? (secure ? 993 : 143),
        secure,
        ...(secure ? {} : { doSTARTTLS: options.starttls !== 'never' }),
        auth: { user: options.auth.user, pass: options.auth.pass },
        tls: {
          ...(options.tls?.ca ? { ca: caOf(options.tls.ca) } : {}),
          ...(options.tls?.servername ? { servername: options.tls.servername } : {}),
          rejectUnauthorized: options.tls?.reject_unauthorized ?? true,
        },
        logger: false,
        disableAutoIdle: true,
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: timeout,
      });
      // imapflow reports socket trouble as an event too; the awaited call carries the error.
      client.on('error', () => {});
      try {
        await client.connect();
        if (folder.toUpperCase() !== 'INBOX') await client.mailboxCreate(folder);
        let present = false;
        if (id && (options.dedupe ?? true)) {
          const lock = await client.getMailboxLock(folder, { readOnly: true });
          try {
            const found = await client.search({ header: { 'message-id': id } }, { uid: true });
            present = Array.isArray(found) && found.length > 0;
          } finally {
            lock.release();
          }
        }
        if (!present) {
          const stored = await client.append(folder, mailBytes(mail), options.flags ?? ['\\Seen']);
          if (stored === false) throw new Error(`the server refused APPEND to ${folder}`);
        }
        await client.logout();
      } catch (error) {
        client.close();
        throw new StageError(`could not store a copy in IMAP folder ${folder} on ${options.host}`, {
          code: ErrorCode.CONNECTION,
          unit: 'imap-append',
          messageId: id,
          cause: error,
          temporary: true,
        });
      }
      const to = mail.ml_send_to?.length ? mail.ml_send_to : [`imap:${folder}`];
      return {
        results: to.map((recipient) => ({
          recipient,
          status: 'delivered' as const,
          distributor: 'imap-append',
        })),
      };
    },
  };
}
