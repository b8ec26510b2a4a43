/**
 * Which SMTP client carries the queue's deliveries. `bulk` (the default) is the pipelined
 * client in bulk-client.ts, made for a list's fan-out; `nodemailer` is the general one in
 * smtp/nodemailer.ts, also used for LMTP, which the bulk client does not speak.
 * BENCHMARKS.md has the figures behind the default.
 */

import type { Transport } from '../queue/transport.ts';
import { createBulkTransport } from './bulk-client.ts';
import { createSmtpTransport } from './nodemailer.ts';
import type { SmtpOptions } from './server-options.ts';

/** The transport `options.engine` names. */
export function createTransport(options: SmtpOptions = {}): Transport {
  if (options.engine === 'nodemailer' || options.lmtp) return createSmtpTransport(options);
  return createBulkTransport(options);
}
