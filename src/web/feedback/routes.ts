/**
 * `malist serve`'s webhook endpoints for the sending services' feedback, outside the
 * pages (no session, no CSRF: the services sign instead):
 *
 * - `POST /feedback/ses`: Amazon SNS (HTTP/S subscription to the topic SES publishes
 *   bounces and complaints to): subscription confirmations are confirmed, notifications
 *   recorded; anything unsigned, forged or from another topic is refused with 403.
 * - `POST /feedback/mailgun`: Mailgun's webhooks (JSON), signature, age and token checked.
 *
 * Both answer 200 once the reports are recorded, so a service retries what failed.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { FeedbackEvent, FeedbackResult } from '../../bounces/feedback.ts';
import { mailgunEvents, sesEvents } from './events.ts';
import { type MailgunWebhookSettings, mailgunVerifier } from './mailgun.ts';
import { certificateCache, parseSns, type SnsSettings, snsProblem, snsUrlAllowed } from './sns.ts';

export interface FeedbackRouteOptions {
  /** malist.yaml's feedback: settings now (read per request: a reload applies). */
  settings(): { ses?: SnsSettings; mailgun?: MailgunWebhookSettings } | undefined;
  /** Records one event (the runtime's feedback). */
  record(event: FeedbackEvent): Promise<FeedbackResult>;
  log(line: string): void;
  /** Fetches a certificate (tests may give their own). @default fetch */
  fetchCertificate?: (url: string) => Promise<string>;
}

async function recordAll(
  options: FeedbackRouteOptions,
  events: FeedbackEvent[],
): Promise<string[]> {
  const said: string[] = [];
  for (const event of events) {
    const r = await options.record(event);
    said.push(`${event.type} ${event.recipient}: ${r.result}${r.list ? ` (${r.list})` : ''}`);
  }
  return said;
}

export function feedbackRoutes(options: FeedbackRouteOptions): Hono {
  const app = new Hono();
  const certificate = certificateCache(options.fetchCertificate);
  let verifier: { key: string; check: ReturnType<typeof mailgunVerifier> } | undefined;
  app.use(bodyLimit({ maxSize: 256 * 1024, onError: (c) => c.text('Too large.\n', 413) }));

  app.post('/ses', async (c) => {
    const settings = options.settings()?.ses;
    if (!settings) return c.text('SES feedback is not configured\n', 404);
    const m = parseSns(await c.req.text());
    if (!m) return c.text('not an SNS message\n', 400);
    const problem = await snsProblem(m, settings, certificate);
    if (problem) {
      options.log(`feedback/ses: refused ${m.Type} ${m.MessageId}: ${problem}`);
      return c.text(`refused: ${problem}\n`, 403);
    }
    if (m.Type === 'SubscriptionConfirmation') {
      if (!m.SubscribeURL || !snsUrlAllowed(m.SubscribeURL, settings))
        return c.text('refused: SubscribeURL is not on an SNS host\n', 403);
      const r = await fetch(m.SubscribeURL, {
        signal: AbortSignal.timeout(10_000),
        redirect: 'error',
      }).catch((error: Error) => error);
      if (r instanceof Error || !r.ok) {
        options.log(`feedback/ses: confirming ${m.TopicArn} failed`);
        return c.text('could not confirm the subscription\n', 502);
      }
      options.log(`feedback/ses: subscribed to ${m.TopicArn}`);
      return c.text('subscribed\n');
    }
    if (m.Type !== 'Notification') return c.text('ok\n');
    const said = await recordAll(options, sesEvents(m.Message, m.MessageId));
    for (const line of said) options.log(`feedback/ses: ${line}`);
    return c.text(`${said.join('\n') || 'nothing to record'}\n`);
  });

  app.post('/mailgun', async (c) => {
    const settings = options.settings()?.mailgun;
    if (!settings) return c.text('Mailgun feedback is not configured\n', 404);
    if (!verifier || verifier.key !== settings.signing_key)
      verifier = { key: settings.signing_key, check: mailgunVerifier(settings) };
    let body: { signature?: Record<string, string>; 'event-data'?: unknown };
    try {
      body = (await c.req.json()) as typeof body;
    } catch {
      return c.text('expected JSON\n', 400);
    }
    const problem = verifier.check(body.signature);
    if (problem) {
      options.log(`feedback/mailgun: refused: ${problem}`);
      return c.text(`refused: ${problem}\n`, 403);
    }
    const said = await recordAll(options, mailgunEvents(body['event-data'] as never));
    for (const line of said) options.log(`feedback/mailgun: ${line}`);
    return c.text(`${said.join('\n') || 'nothing to record'}\n`);
  });
  return app;
}
