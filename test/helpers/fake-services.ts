/**
 * Local fakes of the sending services' HTTP APIs, started by the tests on 127.0.0.1 with a
 * free port: Amazon SES v2 `SendEmail` (SigV4 checked with a test key, the real error
 * shapes: `x-amzn-ErrorType` and a JSON `message`) and Mailgun's `messages.mime` (basic
 * auth `api:KEY`, multipart, its 400/401/429/5xx answers). Each records what it took,
 * the raw bytes as received, and answers as `script` says (default: accepted).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sigv4Problem } from './sigv4-verify.ts';

export const TEST_AWS = {
  keyId: 'AKIDMALISTTEST',
  secret: 'malist/test/secret+key',
  region: 'eu-west-1',
};
export const TEST_MAILGUN = { key: 'key-malist-test', domain: 'mg.example.test' };

/** One call a fake took. */
export interface TakenCall {
  to: string[];
  raw: Buffer;
  /** SES: FeedbackForwardingEmailAddress. */
  from?: string;
  /** SES: ConfigurationSetName; Mailgun: the o: options. */
  options: Record<string, string>;
  /** What the fake answered. */
  status: number;
}

/** A scripted answer: an HTTP status with the service's error type and message. */
export interface ScriptedAnswer {
  status: number;
  /** SES error type (x-amzn-ErrorType), e.g. MessageRejected. */
  type?: string;
  message?: string;
  retryAfter?: string;
}

export interface FakeService {
  url: string;
  port: number;
  calls: TakenCall[];
  /** Answers for the next calls, in order; then `fallback` (default: accepted). */
  script: ScriptedAnswer[];
  /** An answer chosen per call (after `script` is empty). */
  fallback?: (call: TakenCall) => ScriptedAnswer | undefined;
  /** Called with each accepted call, before the answer is written (crash tests). */
  onAccepted?: (call: TakenCall) => void;
  /** Extra routes (SNS subscription URLs, certificates). */
  routes: Map<string, (req: IncomingMessage, res: ServerResponse) => void>;
  delivered(recipient: string): number;
  stop(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

async function start(
  handle: (
    fake: FakeService,
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
  ) => Promise<void>,
): Promise<FakeService> {
  const fake = {
    calls: [] as TakenCall[],
    script: [] as ScriptedAnswer[],
    routes: new Map(),
  } as unknown as FakeService;
  const server: Server = createServer((req, res) => {
    const extra = fake.routes.get((req.url ?? '').split('?')[0]!);
    if (extra) return extra(req, res);
    readBody(req)
      .then((body) => handle(fake, req, body, res))
      .catch((error) => {
        res.writeHead(500).end(String(error));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  fake.port = port;
  fake.url = `http://127.0.0.1:${port}`;
  fake.delivered = (recipient) =>
    fake.calls.filter((c) => c.status === 200 && c.to.includes(recipient)).length;
  fake.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}

function next(fake: FakeService, call: TakenCall): ScriptedAnswer | undefined {
  return fake.script.shift() ?? fake.fallback?.(call);
}

/** The fake SES v2 endpoint (`endpoint: fake.url`, region TEST_AWS.region). */
export function startFakeSes(): Promise<FakeService> {
  return start(async (fake, req, body, res) => {
    const sesError = (status: number, type: string, message: string, retryAfter?: string) => {
      res.writeHead(status, {
        'content-type': 'application/json',
        'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazonaws.sesv2/`,
        'x-amzn-requestid': randomUUID(),
        ...(retryAfter ? { 'retry-after': retryAfter } : {}),
      });
      res.end(JSON.stringify({ message }));
    };
    if (req.method !== 'POST' || req.url !== '/v2/email/outbound-emails')
      return sesError(404, 'NotFoundException', `no route ${req.method} ${req.url}`);
    const problem = sigv4Problem(
      { method: req.method, url: req.url, headers: req.headers, body },
      { keyId: TEST_AWS.keyId, secret: TEST_AWS.secret, region: TEST_AWS.region, service: 'ses' },
    );
    if (problem)
      return sesError(403, problem, 'The request signature we calculated does not match');
    const input = JSON.parse(body.toString('utf8')) as {
      FeedbackForwardingEmailAddress?: string;
      Destination?: { ToAddresses?: string[] };
      Content?: { Raw?: { Data?: string } };
      ConfigurationSetName?: string;
    };
    const to = input.Destination?.ToAddresses ?? [];
    const data = input.Content?.Raw?.Data;
    if (!data || to.length === 0 || to.length > 50)
      return sesError(
        400,
        'BadRequestException',
        'Destination must have 1 to 50 recipients and Content.Raw.Data',
      );
    const call: TakenCall = {
      to,
      raw: Buffer.from(data, 'base64'),
      ...(input.FeedbackForwardingEmailAddress
        ? { from: input.FeedbackForwardingEmailAddress }
        : {}),
      options: input.ConfigurationSetName
        ? { ConfigurationSetName: input.ConfigurationSetName }
        : {},
      status: 200,
    };
    const answer = next(fake, call);
    if (answer && answer.status !== 200) {
      call.status = answer.status;
      fake.calls.push(call);
      return sesError(
        answer.status,
        answer.type ?? 'InternalFailure',
        answer.message ?? 'error',
        answer.retryAfter,
      );
    }
    fake.calls.push(call);
    fake.onAccepted?.(call);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ MessageId: `0102${randomUUID().replace(/-/g, '')}-000000` }));
  });
}

/** The fake Mailgun API (`base_url: fake.url`, domain TEST_MAILGUN.domain). */
export function startFakeMailgun(): Promise<FakeService> {
  return start(async (fake, req, body, res) => {
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(value));
    };
    const expected = `Basic ${Buffer.from(`api:${TEST_MAILGUN.key}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end('Forbidden');
      return;
    }
    const m = /^\/v3\/([^/]+)\/messages\.mime$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !m) return json(404, { message: 'Not Found' });
    if (decodeURIComponent(m[1]!) !== TEST_MAILGUN.domain)
      return json(404, { message: `Domain not found: ${m[1]}` });
    const form = await new Request('http://x/', {
      method: 'POST',
      headers: { 'content-type': String(req.headers['content-type'] ?? '') },
      body: new Uint8Array(body),
    }).formData();
    const to = form.getAll('to').map(String);
    const message = form.get('message');
    if (to.length === 0) return json(400, { message: "'to' parameter is missing" });
    if (!message || typeof message === 'string')
      return json(400, { message: "'message' parameter is not a file" });
    const options: Record<string, string> = {};
    for (const [k, v] of form.entries()) if (k.startsWith('o:')) options[k] = String(v);
    const call: TakenCall = {
      to,
      raw: Buffer.from(await message.arrayBuffer()),
      options,
      status: 200,
    };
    const answer = next(fake, call);
    if (answer && answer.status !== 200) {
      call.status = answer.status;
      fake.calls.push(call);
      return json(
        answer.status,
        { message: answer.message ?? 'error' },
        answer.retryAfter ? { 'retry-after': answer.retryAfter } : {},
      );
    }
    fake.calls.push(call);
    fake.onAccepted?.(call);
    json(200, { id: `<${randomUUID()}@${TEST_MAILGUN.domain}>`, message: 'Queued. Thank you.' });
  });
}
