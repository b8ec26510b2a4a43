/**
 * The options each built-in unit takes in YAML, checked before its factory runs. The output
 * of a schema is the factory's options. Units without a schema here get their options as
 * written (the `type:` is still checked); custom units may export their own `schema`.
 * A new unit needs a registry line and, ideally, a line here.
 */
import { z } from 'zod';
import { schema as jsonLogSchema } from '../reactors/json-log.ts';
import { address, unitSpec } from './schema.ts';

export type UnitKind = 'fetcher' | 'distributor' | 'reactor' | 'unit' | 'member-store';

const positiveInt = z.number().int().positive();
const seconds = z.number().positive();

const maxMailSize = z
  .strictObject({ max_mail_size: positiveInt.optional() })
  .transform(({ max_mail_size }) => (max_mail_size ? { maxMailSize: max_mail_size } : {}));

/** SMTP settings; `user` + `password` (from password_env/_file) become `auth`. */
const smtp = z
  .strictObject({
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    secure: z.boolean().optional(),
    starttls: z.enum(['required', 'opportunistic', 'never']).optional(),
    tls: z
      .strictObject({
        ca: z.string().optional(),
        reject_unauthorized: z.boolean().optional(),
        servername: z.string().optional(),
      })
      .optional(),
    user: z.string().min(1).optional(),
    password: z.string().optional(),
    auth_method: z.string().optional(),
    name: z.string().optional(),
    lmtp: z.boolean().optional(),
    engine: z.enum(['bulk', 'nodemailer']).optional(),
    max_connections: positiveInt.optional(),
    max_recipients_per_transaction: positiveInt.optional(),
    max_messages_per_connection: positiveInt.optional(),
    verp: z.boolean().optional(),
    verp_delimiter: z.string().length(1).optional(),
    connection_timeout_ms: positiveInt.optional(),
    greeting_timeout_ms: positiveInt.optional(),
    socket_timeout_ms: positiveInt.optional(),
    transaction_timeout_ms: positiveInt.optional(),
  })
  .superRefine((o, ctx) => {
    if ((o.user === undefined) !== (o.password === undefined))
      ctx.addIssue({
        code: 'custom',
        path: o.user === undefined ? ['user'] : ['password_env'],
        message: 'SMTP AUTH needs both user: and password_env: (or password_file:)',
      });
  })
  .transform(({ user, password, auth_method, ...rest }) => ({
    ...rest,
    ...(user !== undefined && password !== undefined
      ? { auth: { user, pass: password, ...(auth_method ? { method: auth_method } : {}) } }
      : {}),
  }));

const queue = z.strictObject({
  dir: z.string().min(1),
  retry: z
    .strictObject({
      initial_seconds: seconds.optional(),
      factor: z.number().min(1).optional(),
      max_seconds: seconds.optional(),
      jitter: z.number().min(0).max(1).optional(),
    })
    .optional(),
  expire_after_seconds: seconds.optional(),
  keep_done_seconds: seconds.optional(),
  deliver_now: z.boolean().optional(),
  smtp: smtp.optional(),
});

/** POP3 and IMAP settings in YAML's snake_case, turned into the fetchers' options. */
const mailboxServer = {
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).optional(),
  tls: z.enum(['implicit', 'starttls', 'none']).optional(),
  ca_file: z.string().min(1).optional(),
  servername: z.string().min(1).optional(),
  user: z.string().min(1),
  password: z.string({ error: 'expected password_env: VAR or password_file: PATH' }),
  state_dir: z.string().min(1).optional(),
  max_mail_size: positiveInt.optional(),
  tmp_dir: z.string().min(1).optional(),
  timeout_ms: positiveInt.optional(),
};

function camel(options: Record<string, unknown>): Record<string, unknown> {
  const renames: Record<string, string> = {
    ca_file: 'caFile',
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

const ruleAction = z.strictObject({ action: z.enum(['hold', 'reject', 'discard']).optional() });

export const unitSchemas: Record<UnitKind, Record<string, z.ZodType>> = {
  fetcher: {
    stdin: maxMailSize,
    pop3: z.strictObject(mailboxServer).transform(camel),
    imap: z
      .strictObject({
        ...mailboxServer,
        mailbox: z.string().min(1).optional(),
        move_to: z.string().min(1).optional(),
        lock_timeout_ms: positiveInt.optional(),
        reconnects: z.number().int().min(0).optional(),
      })
      .transform(camel),
    maildir: z
      .strictObject({
        dir: z.string().min(1),
        processed: z.string().min(1).optional(),
        max_mail_size: positiveInt.optional(),
      })
      .transform(({ max_mail_size, ...rest }) => ({
        ...rest,
        ...(max_mail_size ? { maxMailSize: max_mail_size } : {}),
      })),
  },
  distributor: {
    maildir: z.strictObject({ dir: z.string().min(1), single: z.boolean().optional() }),
    multiple: z.strictObject({ distributors: z.array(unitSpec).min(1) }),
    'deliver-to': z.strictObject({ to: z.array(address).min(1), distributor: unitSpec }),
    smtp,
    queue,
    mbox: z.strictObject({
      path: z.string().min(1),
      lock_timeout_ms: positiveInt.optional(),
      stale_lock_seconds: seconds.optional(),
    }),
    sendmail: z.strictObject({
      path: z.string().min(1).optional(),
      args: z.array(z.string()).optional(),
      timeout_ms: positiveInt.optional(),
    }),
    log: z.strictObject({
      file: z.string().min(1).optional(),
      format: z.enum(['text', 'json']).optional(),
    }),
    'imap-append': z
      .strictObject({
        host: z.string().min(1),
        port: z.number().int().min(1).max(65535).optional(),
        secure: z.boolean().optional(),
        starttls: z.enum(['required', 'never']).optional(),
        user: z.string().min(1),
        password: z.string({ error: 'expected password_env: VAR or password_file: PATH' }),
        folder: z.string().min(1).optional(),
        flags: z.array(z.string()).optional(),
        dedupe: z.boolean().optional(),
        tls: z
          .strictObject({
            ca: z.string().optional(),
            reject_unauthorized: z.boolean().optional(),
            servername: z.string().optional(),
          })
          .optional(),
        timeout_ms: positiveInt.optional(),
      })
      .transform(({ user, password, ...rest }) => ({ ...rest, auth: { user, pass: password } })),
  },
  reactor: {
    'stderr-logger': z.strictObject({ signals: z.boolean().optional() }),
    'json-log': jsonLogSchema,
    // Always on (wired by config/services.ts); naming them here sets their options.
    'notify-poster': z.strictObject({
      held: z.boolean().optional(),
      rejected: z.boolean().optional(),
      per_day: positiveInt.optional(),
      templates: z.record(z.string(), z.string()).optional(),
    }),
    'notify-moderators': z.strictObject({
      per_day: positiveInt.optional(),
      templates: z.record(z.string(), z.string()).optional(),
    }),
  },
  'member-store': {
    yaml: z.strictObject({ file: z.string().min(1), key: z.string().min(1).optional() }),
    'text-file': z.strictObject({ file: z.string().min(1) }),
    memory: z.strictObject({ members: z.array(z.unknown()).optional() }),
  },
  unit: {
    'loop-guard': z.strictObject({
      precedence: z.array(z.string()).optional(),
      auto_submitted: z.boolean().optional(),
      stamp: z.boolean().optional(),
    }),
    approved: z.strictObject({}),
    'posting-policy': z.strictObject({}),
    'max-size': ruleAction,
    'max-recipients': ruleAction,
    'explicit-destination': ruleAction,
    'strip-headers': z.strictObject({
      remove: z.array(z.string()).optional(),
      keep_list_fields: z.boolean().optional(),
    }),
    'subject-prefix': z.strictObject({ position: z.enum(['before-re', 'after-re']).optional() }),
    'reply-to': z.strictObject({
      policy: z.enum(['poster', 'list', 'explicit']).optional(),
      address: address.optional(),
      strip: z.boolean().optional(),
    }),
    footer: z.strictObject({
      text: z.union([z.string(), z.literal(false)]).optional(),
      html: z.string().optional(),
      header: z.string().optional(),
      header_html: z.string().optional(),
    }),
    'list-headers': z.strictObject({
      precedence: z.union([z.string(), z.literal(false)]).optional(),
      owner: z.boolean().optional(),
    }),
    envelope: z.strictObject({}),
    'content-filter': z.strictObject({
      strip_types: z.array(z.string()).optional(),
      strip_extensions: z.array(z.string()).optional(),
      reject_types: z.array(z.string()).optional(),
      reject_extensions: z.array(z.string()).optional(),
      action: z.enum(['hold', 'reject', 'discard']).optional(),
      collapse_alternative: z.boolean().optional(),
    }),
    dmarc: z.strictObject({
      action: z.enum(['none', 'munge_from', 'wrap_message']).optional(),
      when: z.enum(['always', 'policy']).optional(),
      policies: z.array(z.string()).optional(),
      poster_in: z.enum(['reply-to', 'cc']).optional(),
      cache_seconds: z.number().min(0).optional(),
    }),
  },
};

/** Where a unit of this type takes the settings of a `server:` (queue: under `smtp`). */
export const SERVER_KEY: Record<string, string | undefined> = { queue: 'smtp' };
