/**
 * The options each built-in unit takes in YAML, checked before its factory runs. The output
 * of a schema is the factory's options. Units without a schema here get their options as
 * written (the `type:` is still checked); custom units may export their own `schema`.
 * A new unit needs a registry line and, ideally, a line here.
 */
import { z } from 'zod';
import { schema as jsonLogSchema } from '../reactors/json-log.ts';
import { address, unitSpec } from './schema.ts';

export type UnitKind = 'fetcher' | 'distributor' | 'reactor' | 'unit';

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
        ca_file: z.string().optional(),
        reject_unauthorized: z.boolean().optional(),
        servername: z.string().optional(),
      })
      .optional(),
    user: z.string().min(1).optional(),
    password: z.string().optional(),
    auth_method: z.string().optional(),
    name: z.string().optional(),
    lmtp: z.boolean().optional(),
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

export const unitSchemas: Record<UnitKind, Record<string, z.ZodType>> = {
  fetcher: {
    stdin: maxMailSize,
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
  },
  reactor: {
    'stderr-logger': z.strictObject({ signals: z.boolean().optional() }),
    'json-log': jsonLogSchema,
  },
  unit: {
    'posting-policy': z.strictObject({}),
    envelope: z.strictObject({}),
    'subject-prefix': z.strictObject({ position: z.enum(['before-re', 'after-re']).optional() }),
  },
};

/** Where a unit of this type takes the settings of a `server:` (queue: under `smtp`). */
export const SERVER_KEY: Record<string, string | undefined> = { queue: 'smtp' };
