/** Up-front checks of the options POP3 and IMAP share, with errors prefixed by the unit. */
import { z } from 'zod';
import { StageError } from '../errors.ts';

export interface MailboxOptionsShape {
  host: string;
  port?: number;
  user: string;
  password: string;
  tls?: string;
  stateDir: string;
  maxMailSize?: number;
}

/** Throws ECONFIG naming the unit and the option; returns a `fail` for the unit's own checks. */
export function checkMailboxOptions(
  unit: string,
  options: MailboxOptionsShape,
): (message: string) => never {
  const fail = (message: string): never => {
    throw new StageError(message, { code: 'ECONFIG', unit });
  };
  if (!options || typeof options !== 'object') fail('options are required');
  if (!options.host) fail('`host` is required');
  if (!options.user) fail('`user` is required');
  if (typeof options.password !== 'string')
    fail('`password` is required (password_env or password_file)');
  if (!options.stateDir) fail('`stateDir` is required (it keeps the record of handled UIDs)');
  if (options.tls !== undefined && !['implicit', 'starttls', 'none'].includes(options.tls)) {
    fail(`\`tls\` must be implicit, starttls or none, not ${JSON.stringify(options.tls)}`);
  }
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port > 0)) {
    fail('`port` must be a positive integer');
  }
  if (options.maxMailSize !== undefined && !(options.maxMailSize > 0)) {
    fail('`maxMailSize` must be a positive number of bytes');
  }
  return fail;
}

/**
 * POP3 and IMAP settings in YAML's snake_case, turned into the fetchers' options. TLS is
 * written as for every server (SMTP too): `tls: implicit | starttls | none`, `ca_file`,
 * `servername`, `reject_unauthorized`; the older `tls: true | false` is still read.
 */
export const mailboxServerSchema = {
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).optional(),
  tls: z
    .union([z.enum(['implicit', 'starttls', 'none']), z.boolean()], {
      error: 'expected one of implicit | starttls | none',
    })
    // The older boolean: true was TLS from the first byte; false, not that (STARTTLS).
    .transform((v) => (v === true ? 'implicit' : v === false ? 'starttls' : v))
    .optional(),
  ca_file: z.string().min(1).optional(),
  servername: z.string().min(1).optional(),
  /** false: accept any certificate (tests only). @default true */
  reject_unauthorized: z.boolean().optional(),
  user: z.string().min(1),
  password: z.string({ error: 'expected password_env: VAR or password_file: PATH' }),
  state_dir: z.string().min(1).optional(),
  max_mail_size: z.number().int().positive().optional(),
  tmp_dir: z.string().min(1).optional(),
  timeout_ms: z.number().int().positive().optional(),
};

/** The older `tls: true | false` in POP3/IMAP settings as written, with its new spelling. */
export function mailboxDeprecations(
  options: Record<string, unknown>,
): { path: PropertyKey[]; instead: string }[] {
  return typeof options.tls === 'boolean'
    ? [
        {
          path: ['tls'],
          instead: options.tls
            ? 'tls: implicit'
            : 'tls: starttls (what false meant), or tls: none for no TLS at all',
        },
      ]
    : [];
}

export function camelOptions(options: Record<string, unknown>): Record<string, unknown> {
  const renames: Record<string, string> = {
    ca_file: 'caFile',
    reject_unauthorized: 'rejectUnauthorized',
    state_dir: 'stateDir',
    max_mail_size: 'maxMailSize',
    tmp_dir: 'tmpDir',
    timeout_ms: 'timeout',
    move_to: 'moveTo',
    lock_timeout_ms: 'lockTimeout',
  };
  return Object.fromEntries(
    Object.entries(options)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [renames[k] ?? k, v]),
  );
}
