/**
 * SMTP settings as written in YAML (a `servers:` entry, the queue's `smtp:`, `type: smtp`),
 * checked up front; the output is the options of smtp/server-options.ts. VERP is not an SMTP
 * setting here: a list's VERP addresses carry a cookie made with the installation secret,
 * so the queue gives each transaction its sender (`verp:` in the list, config/verp.ts).
 *
 * TLS is written as for every server malist talks to (POP3, IMAP, SMTP, LMTP): `tls:
 * implicit | starttls | none`, `ca_file`, `servername`, `reject_unauthorized`. The keys
 * before them (`secure`, `starttls`, a `tls:` mapping with `ca`) are still read; `deprecated`
 * names each one with its new spelling, for the configuration's warnings.
 */
import { z } from 'zod';
import { deferred, lazySchema } from '../mail/deferred-option.ts';
import { once } from '../mail/lazy.ts';
import {
  optionalBoolean,
  optionalName,
  optionalPositiveInt,
  optionalText,
} from '../mail/shared-options.ts';

/** The one TLS vocabulary of every server: TLS from the first byte, upgraded, or none. */
export const TLS_MODES = ['implicit', 'starttls', 'none'] as const;
export type TlsMode = (typeof TLS_MODES)[number];

/** A key written in an old spelling: where (inside the options) and what to write instead. */
export interface Deprecation {
  path: PropertyKey[];
  /** The new spelling, e.g. `tls: implicit`. */
  instead: string;
}

/*
 * A process per mail (`malist receive`) checks its SMTP settings each time, and a plain
 * server writes host, port and a TLS mode: the rest is `deferred()` (built when written) or
 * a schema shared with the keys that check the same thing (mail/shared-options.ts). This
 * module built 99 zod objects a receive.
 */

/**
 * The TLS keys of a server's settings, the same for SMTP, LMTP and IMAP APPEND (POP3 and
 * IMAP fetching: fetchers/mailbox-options.ts): the new ones, and the old ones still read.
 * Made when a schema that has them is built (a receive from the check cache builds none).
 */
export const tlsFields = once(() => ({
  /** implicit (TLS from the first byte), starttls (required), none. */
  tls: deferred(() =>
    z.union(
      [
        z.enum(TLS_MODES),
        // The older mapping.
        z.strictObject({
          ca: optionalText,
          reject_unauthorized: optionalBoolean,
          servername: optionalText,
        }),
      ],
      { error: 'expected one of implicit | starttls | none' },
    ),
  ),
  /** PEM file of the CA(s) to trust (a private CA), relative to the YAML file. */
  ca_file: optionalName,
  /** The name the certificate is checked against. @default host */
  servername: optionalName,
  /** false: accept any certificate (tests only). @default true */
  reject_unauthorized: optionalBoolean,
  /** Deprecated: `tls: implicit`. */
  secure: optionalBoolean,
  /** Deprecated: `tls: starttls` (required) or `tls: none` (never). */
  starttls: z.enum(['required', 'opportunistic', 'never']).optional(),
}));

type TlsFields = {
  [K in keyof ReturnType<typeof tlsFields>]?: z.output<ReturnType<typeof tlsFields>[K]>;
};

/** The same thing said twice (`tls: implicit` and `secure:`, `tls.ca` and `ca_file`). */
export function tlsConflicts(o: TlsFields, ctx: z.RefinementCtx): void {
  const mode = typeof o.tls === 'string' ? o.tls : undefined;
  if (mode && (o.secure !== undefined || o.starttls !== undefined))
    ctx.addIssue({
      code: 'custom',
      path: [o.secure !== undefined ? 'secure' : 'starttls'],
      message: `tls: ${mode} already says how to use TLS; a second key could contradict it`,
    });
  if (typeof o.tls === 'object') {
    for (const key of ['servername', 'reject_unauthorized'] as const)
      if (o.tls[key] !== undefined && o[key] !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['tls', key],
          message: `${key} is written twice (here and beside tls:)`,
        });
    if (o.tls.ca !== undefined && o.ca_file !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['tls', 'ca'],
        message: 'the CA is written twice (tls.ca and ca_file)',
      });
  }
}

/** The clients' TLS options (`secure`, `starttls`, `tls: { ca, servername, reject_unauthorized }`). */
function tlsClientOptions(o: TlsFields): {
  secure?: boolean;
  starttls?: 'required' | 'opportunistic' | 'never';
  tls?: { ca?: string; servername?: string; reject_unauthorized?: boolean };
} {
  const mode = typeof o.tls === 'string' ? o.tls : undefined;
  const legacy = typeof o.tls === 'object' ? o.tls : {};
  const ca = o.ca_file ?? legacy.ca;
  const servername = o.servername ?? legacy.servername;
  const verify = o.reject_unauthorized ?? legacy.reject_unauthorized;
  const tls = {
    ...(ca !== undefined ? { ca } : {}),
    ...(servername !== undefined ? { servername } : {}),
    ...(verify !== undefined ? { reject_unauthorized: verify } : {}),
  };
  const policy = mode === 'starttls' ? 'required' : mode === 'none' ? 'never' : o.starttls;
  return {
    ...(mode !== undefined || o.secure !== undefined
      ? { secure: mode === 'implicit' || (mode === undefined && o.secure === true) }
      : {}),
    ...(policy && mode !== 'implicit' ? { starttls: policy } : {}),
    ...(Object.keys(tls).length > 0 ? { tls } : {}),
  };
}

/** `o` with its TLS keys (in any spelling) replaced by the clients' TLS options. */
export function withTlsClientOptions<T extends TlsFields>(
  o: T,
): Omit<T, keyof TlsFields> & ReturnType<typeof tlsClientOptions> {
  const { tls, ca_file, servername, reject_unauthorized, secure, starttls, ...rest } = o;
  return {
    ...rest,
    ...tlsClientOptions({ tls, ca_file, servername, reject_unauthorized, secure, starttls }),
  };
}

/** SMTP settings; `user` + `password` (from password_env/_file) become `auth`. */
export const smtpSchema = lazySchema(() =>
  z
    .strictObject({
      host: optionalName,
      port: z.number().int().min(1).max(65535).optional(),
      ...tlsFields(),
      user: optionalName,
      password: optionalText,
      auth_method: optionalText,
      name: optionalText,
      lmtp: optionalBoolean,
      engine: z.enum(['bulk', 'nodemailer']).optional(),
      max_connections: optionalPositiveInt,
      max_recipients_per_transaction: optionalPositiveInt,
      max_messages_per_connection: optionalPositiveInt,
      connection_timeout_ms: optionalPositiveInt,
      greeting_timeout_ms: optionalPositiveInt,
      socket_timeout_ms: optionalPositiveInt,
      transaction_timeout_ms: optionalPositiveInt,
    })
    .superRefine((o, ctx) => {
      if ((o.user === undefined) !== (o.password === undefined))
        ctx.addIssue({
          code: 'custom',
          path: o.user === undefined ? ['user'] : ['password_env'],
          message: 'SMTP AUTH needs both user: and password_env: (or password_file:)',
        });
      tlsConflicts(o, ctx);
    })
    .transform(({ user, password, auth_method, ...rest }) => ({
      ...withTlsClientOptions(rest),
      ...(user !== undefined && password !== undefined
        ? { auth: { user, pass: password, ...(auth_method ? { method: auth_method } : {}) } }
        : {}),
    })),
);

/** The old TLS keys in server settings as written (`options`), each with its new spelling. */
export function smtpDeprecations(options: unknown, prefix: PropertyKey[] = []): Deprecation[] {
  if (!options || typeof options !== 'object') return [];
  const o = options as Record<string, unknown>;
  const out: Deprecation[] = [];
  if (o.secure !== undefined)
    out.push({
      path: [...prefix, 'secure'],
      instead: o.secure === true ? 'tls: implicit' : 'tls: starttls (or tls: none)',
    });
  if (o.starttls !== undefined)
    out.push({
      path: [...prefix, 'starttls'],
      instead:
        o.starttls === 'never'
          ? 'tls: none'
          : o.starttls === 'required'
            ? 'tls: starttls'
            : 'tls: starttls (STARTTLS required), or no tls: at all (STARTTLS when offered)',
    });
  if (o.tls && typeof o.tls === 'object' && !Array.isArray(o.tls)) {
    const t = o.tls as Record<string, unknown>;
    if (t.ca !== undefined) out.push({ path: [...prefix, 'tls', 'ca'], instead: 'ca_file: PATH' });
    for (const key of ['servername', 'reject_unauthorized'])
      if (t[key] !== undefined)
        out.push({ path: [...prefix, 'tls', key], instead: `${key}: beside host:` });
  }
  return out;
}
