/**
 * SES's credentials, apart from the transport (ses.ts, which brings aws4): a queue with
 * `engine: ses` and no credentials is refused when it is made (transport.ts), before the
 * transport's modules are loaded at its first send.
 */
import type { SesOptions } from './ses.ts';

/** The credentials of `options`, else the standard AWS environment variables. */
export function sesCredentials(options: SesOptions, env: NodeJS.ProcessEnv = process.env) {
  const accessKeyId = options.access_key_id ?? env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = options.secret_access_key ?? env.AWS_SECRET_ACCESS_KEY;
  const sessionToken =
    options.session_token ?? (options.access_key_id ? undefined : env.AWS_SESSION_TOKEN);
  if (!accessKeyId || !secretAccessKey)
    throw new Error(
      'SES needs credentials: access_key_id and secret_access_key_env (or _file) under ses:, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment',
    );
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}
