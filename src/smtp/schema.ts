/**
 * SMTP settings as written in YAML (a `servers:` entry, the queue's `smtp:`, `type: smtp`),
 * checked up front; the output is the options of smtp/server-options.ts. VERP is not an SMTP
 * setting here: a list's VERP addresses carry a cookie made with the installation secret,
 * so the queue gives each transaction its sender (`verp:` in the list, config/verp.ts).
 */
import { z } from 'zod';

/** SMTP settings; `user` + `password` (from password_env/_file) become `auth`. */
export const smtpSchema = z
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
    max_connections: z.number().int().positive().optional(),
    max_recipients_per_transaction: z.number().int().positive().optional(),
    max_messages_per_connection: z.number().int().positive().optional(),
    connection_timeout_ms: z.number().int().positive().optional(),
    greeting_timeout_ms: z.number().int().positive().optional(),
    socket_timeout_ms: z.number().int().positive().optional(),
    transaction_timeout_ms: z.number().int().positive().optional(),
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
