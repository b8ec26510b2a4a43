/**
 * `malist send-test --list NAME --to ADDR [--config DIR]` — sends a small test message
 * from the list's bounce address through the configured distributors and prints what each
 * said for the recipient (the SMTP reply, when there is one). Nothing goes to the members.
 * Exit 0 only when it was delivered (the server said 250): see `sendTestStatus`.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { buildReactors } from '../config/build.ts';
import { openConfig, printProblems } from '../config/open.ts';
import { signedDistributors, signingOf } from '../config/runtime.ts';
import { describeError } from '../errors.ts';
import { bounceAddress } from '../list/addresses.ts';
import { normalizeAddress } from '../mail/address.ts';
import { createListMail } from '../mail/list-mail.ts';
import { needsOperator, replyClass, replyText } from '../mail/smtp-reply.ts';
import type { RecipientResult } from '../types.ts';
import { EX } from './exit-codes.ts';

const USAGE = `usage: malist send-test --list NAME --to ADDR [--config DIR]

Exit status: 0 delivered (the server said 250), 1 refused, or the login or TLS failed,
75 deferred by the server or the server unreachable (queued: the queue retries it).`;

/** The test message: plain, short, with a unique Message-ID. */
export function testMessage(
  list: { name: string; address: string },
  to: string,
  from: string,
): Buffer {
  const domain = list.address.split('@')[1] ?? hostname();
  const id = `malist-test-${Date.now()}-${randomBytes(4).toString('hex')}@${domain}`;
  return Buffer.from(
    [
      `From: malist send-test <${from}>`,
      `To: <${to}>`,
      `Subject: malist send-test for ${list.name}`,
      `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: <${id}>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Auto-Submitted: auto-generated',
      '',
      `This is a test message from malist for the list ${list.address}.`,
      'It went through the distributors configured in malist.yaml; the members did not get it.',
      '',
    ].join('\r\n'),
  );
}

function describeResult(r: RecipientResult): string {
  const said = replyText(r.code, r.response);
  const queued = r.status === 'queued' ? ' (the queue retries it; malist queue list shows it)' : '';
  return `${r.recipient}: ${r.status} via ${r.distributor}${said ? ` — server said: ${said}` : ''}${queued}`;
}

/**
 * 0 only when every distributor delivered (an SMTP server said 250); 1 when one refused, could
 * not be used, or the login or TLS failed (waiting will not cure it); 75 when the server
 * deferred it (4xx, unreachable) and it may go through later.
 */
export function sendTestStatus(results: RecipientResult[], broken: boolean): number {
  if (broken || results.length === 0) return EX.ATTENTION;
  if (results.every((r) => r.status === 'delivered')) return EX.OK;
  if (results.some((r) => r.status === 'failed')) return EX.ATTENTION;
  const waiting = results.filter((r) => r.status !== 'delivered');
  return waiting.some((r) => needsOperator(replyClass(r.code, r.response)))
    ? EX.ATTENTION
    : EX.TEMPFAIL;
}

export default async function sendTest(argv: string[]): Promise<number> {
  let values: { list?: string; to?: string; config?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        list: { type: 'string', short: 'l' },
        to: { type: 'string', short: 't' },
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`malist send-test: ${(error as Error).message}\n${USAGE}\n`);
    return EX.USAGE;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return EX.OK;
  }
  if (!values.list || !values.to || !normalizeAddress(values.to)) {
    process.stderr.write(`malist send-test: --list and --to ADDR are required\n${USAGE}\n`);
    return EX.USAGE;
  }
  const { config, plans } = await openConfig(values.config ? { dir: values.config } : {});
  if (config.problems.length > 0 || !config.main) {
    printProblems(config, process.stderr);
    return EX.CONFIG;
  }
  const plan = plans.lists.find((l) => l.list.name === values.list);
  if (!plan) {
    process.stderr.write(
      `malist send-test: unknown list '${values.list}'; lists: ${plans.lists.map((l) => l.list.name).join(', ')}\n`,
    );
    return EX.NOUSER;
  }
  const settings = plan.list.settings;
  const sender = bounceAddress(settings);
  const mail = createListMail(testMessage(settings, values.to, sender), {
    fetcher: 'send-test',
    id: 'send-test',
  });
  mail.ml_sender = sender;
  mail.ml_send_to = [values.to];
  mail.ml_list_name = settings.name;
  const distributors = signedDistributors(
    plans,
    buildReactors(plans),
    await signingOf(plans, undefined, config.main.state_dir),
  );
  const results: RecipientResult[] = [];
  let broken = false;
  for (const d of distributors) {
    try {
      results.push(...(await d.distribute(mail)).results);
    } catch (error) {
      broken = true;
      process.stdout.write(`${values.to}: not sent via ${d.name} — ${describeError(error)}\n`);
    } finally {
      await d.close?.().catch(() => {});
    }
  }
  for (const r of results) process.stdout.write(`${describeResult(r)}\n`);
  const status = sendTestStatus(results, broken);
  if (status !== EX.OK)
    process.stderr.write(
      `malist send-test: not delivered (exit ${status}${status === EX.TEMPFAIL ? ': the server deferred it; try again later' : ''})\n`,
    );
  return status;
}
