/**
 * The sending services' settings as written in YAML under a queue's `ses:` or `mailgun:`
 * (`engine: ses | mailgun` picks one), checked up front. Secrets come from `*_env` /
 * `*_file` (config/secrets.ts) like every other secret.
 */
import { z } from 'zod';
import { once } from '../../mail/lazy.ts';

/**
 * The schemas of `ses:` and `mailgun:` (91 zod objects), made on first call: only for a
 * queue that names a service (distributors/queue.ts `wholeSchema`), not by every process
 * that loads the queue.
 */
function buildSchemas() {
  const tuning = {
    max_per_second: z.number().positive().optional(),
    max_connections: z.number().int().positive().max(256).optional(),
    retries: z.number().int().min(0).max(10).optional(),
    retry_initial_ms: z.number().int().positive().optional(),
    retry_max_ms: z.number().int().positive().optional(),
    timeout_ms: z.number().int().positive().optional(),
  };

  const url = z.url({ protocol: /^https?$/, error: 'expected a URL, e.g. https://…' });

  return {
    /** `ses:` — Amazon SES v2. */
    ses: z.strictObject({
      region: z
        .string()
        .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: 'expected an AWS region, e.g. eu-west-1' }),
      endpoint: url.optional(),
      configuration_set: z.string().min(1).optional(),
      access_key_id: z.string().min(1).optional(),
      secret_access_key: z.string().min(1).optional(),
      session_token: z.string().min(1).optional(),
      max_recipients_per_call: z.number().int().min(1).max(50).optional(),
      ...tuning,
    }),
    /** `mailgun:` — Mailgun's messages.mime. */
    mailgun: z.strictObject({
      domain: z.string().min(1),
      api_key: z.string().min(1, { error: 'expected api_key_env: VAR or api_key_file: PATH' }),
      region: z.enum(['us', 'eu']).optional(),
      base_url: url.optional(),
      tracking: z.boolean().optional(),
      max_recipients_per_call: z.number().int().min(1).max(1000).optional(),
      ...tuning,
    }),
    /** The transport a queue sends through. @default smtp */
    engine: z.enum(['smtp', 'ses', 'mailgun']),
  };
}

type ServiceSchemas = ReturnType<typeof buildSchemas>;

/** `engine:`, `ses:` and `mailgun:` of a queue, made once, on first call. */
export const serviceSchemas = once(buildSchemas);

export type SesYaml = z.infer<ServiceSchemas['ses']>;
export type MailgunYaml = z.infer<ServiceSchemas['mailgun']>;

/** The issues of a queue's `engine:` against its `ses:` / `mailgun:` settings. */
export function engineIssues(
  o: { engine?: 'smtp' | 'ses' | 'mailgun'; ses?: SesYaml; mailgun?: unknown },
  env: NodeJS.ProcessEnv,
): Array<{ path: string[]; message: string }> {
  const out: Array<{ path: string[]; message: string }> = [];
  if (o.engine === 'ses' && !o.ses)
    out.push({ path: ['engine'], message: 'engine: ses needs ses: { region: … } beside it' });
  if (o.engine === 'mailgun' && !o.mailgun)
    out.push({
      path: ['engine'],
      message: 'engine: mailgun needs mailgun: { domain: …, api_key_env: … } beside it',
    });
  if (o.engine === 'ses' && o.ses) {
    const id = o.ses.access_key_id ?? env.AWS_ACCESS_KEY_ID;
    const key = o.ses.secret_access_key ?? env.AWS_SECRET_ACCESS_KEY;
    if (!id || !key)
      out.push({
        path: ['ses'],
        message:
          'no SES credentials: write access_key_id: and secret_access_key_env: (or _file:) under ses:, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY where malist runs',
      });
  }
  if (o.engine !== 'ses' && o.engine !== 'mailgun' && (o.ses || o.mailgun))
    out.push({
      path: [o.ses ? 'ses' : 'mailgun'],
      message: `${o.ses ? 'ses' : 'mailgun'}: is set but engine: is ${o.engine ?? 'smtp (the default)'}; write engine: ${o.ses ? 'ses' : 'mailgun'} to send through it`,
    });
  return out;
}
