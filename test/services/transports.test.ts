/**
 * The SES and Mailgun transports against local fakes of the services' HTTP APIs
 * (test/helpers/fake-services.ts): the raw bytes received as they were given, per-recipient
 * outcomes from the services' answers, retries on throttling and 5xx, batches of at most 50
 * for SES, a call per recipient for VERP and personal copies, tracking off.
 */
import aws4 from 'aws4';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Transport } from '../../src/queue/transport.ts';
import { createMailgunTransport } from '../../src/smtp/services/mailgun.ts';
import { tokenBucket } from '../../src/smtp/services/rate.ts';
import { createSesTransport } from '../../src/smtp/services/ses.ts';
import type { RecipientResult } from '../../src/types.ts';
import {
  type FakeService,
  startFakeMailgun,
  startFakeSes,
  TEST_AWS,
  TEST_MAILGUN,
} from '../helpers/fake-services.ts';
import { sigv4Signature } from '../helpers/sigv4-verify.ts';
import { testMessage } from '../smtp/fixtures.ts';

const members = (n: number) => Array.from({ length: n }, (_, i) => `m${i}@members.test`);
const byStatus = (results: RecipientResult[], status: string) =>
  results.filter((r) => r.status === status).map((r) => r.recipient);

describe('SigV4 (the fake checks it with code written from the specification)', () => {
  // AWS's published SigV4 test suite, "get-vanilla": the same signature from both.
  const vector = {
    secret: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    signature: '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
  };
  it("the fake's verifier gives the published signature of get-vanilla", () => {
    const got = sigv4Signature(
      {
        method: 'GET',
        url: '/',
        headers: { host: 'example.amazonaws.com', 'x-amz-date': '20150830T123600Z' },
        body: Buffer.alloc(0),
      },
      vector.secret,
      { date: '20150830', region: 'us-east-1', service: 'service' },
      ['host', 'x-amz-date'],
      '20150830T123600Z',
    );
    expect(got).toBe(vector.signature);
  });
  it('aws4 (which signs malist’s requests) gives it too', () => {
    const signer = new aws4.RequestSigner(
      {
        host: 'example.amazonaws.com',
        path: '/',
        method: 'GET',
        service: 'service',
        region: 'us-east-1',
        headers: { 'X-Amz-Date': '20150830T123600Z' },
      },
      { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: vector.secret },
    );
    signer.datetime = '20150830T123600Z'; // the vector's time, not now
    const signed = signer.sign();
    expect(String(signed.headers?.Authorization)).toContain(`Signature=${vector.signature}`);
  });
});

describe('SES transport', () => {
  let fake: FakeService;
  let ses: Transport;
  const options = () => ({
    region: TEST_AWS.region,
    endpoint: fake.url,
    access_key_id: TEST_AWS.keyId,
    secret_access_key: TEST_AWS.secret,
    retry_initial_ms: 5,
    retry_max_ms: 2000,
  });
  beforeAll(async () => {
    fake = await startFakeSes();
    ses = createSesTransport(options(), {});
  });
  afterAll(async () => {
    await ses?.close();
    await fake?.stop();
  });
  beforeEach(() => {
    fake.calls.length = 0;
    fake.script.length = 0;
    fake.fallback = undefined;
  });

  it('one post to 1,000 members: calls of at most 50, every byte as given, all delivered', async () => {
    const raw = Buffer.concat([testMessage('thousand'), Buffer.from([0xe9, 0x0d, 0x0a, 0x00])]);
    const recorded: RecipientResult[][] = [];
    const results = await ses.send({
      from: 'red-bounces@list.example.test',
      to: members(1000),
      raw,
      onTransaction: async (r) => {
        recorded.push(r);
      },
    });
    expect(byStatus(results, 'delivered')).toHaveLength(1000);
    expect(fake.calls).toHaveLength(20);
    for (const call of fake.calls) {
      expect(call.to.length).toBeLessThanOrEqual(50);
      expect(call.raw.equals(raw)).toBe(true);
      expect(call.options).toEqual({}); // no configuration set: no tracking
    }
    expect(recorded.flat()).toHaveLength(1000);
    expect(new Set(fake.calls.flatMap((c) => c.to)).size).toBe(1000);
  });

  it('VERP and personal copies: a call per member with its own sender and bytes', async () => {
    const to = members(3);
    const results = await ses.send({
      from: 'red-bounces@list.example.test',
      to,
      raw: testMessage('unused'),
      senderFor: (r) => `red-bounces+${r.replace('@', '=')}@list.example.test`,
      personalise: (r) => testMessage(`for-${r}`),
    });
    expect(byStatus(results, 'delivered')).toEqual(to);
    expect(fake.calls.map((c) => c.to)).toEqual(to.map((r) => [r]));
    for (const call of fake.calls) {
      const r = call.to[0]!;
      expect(call.from).toBe(`red-bounces+${r.replace('@', '=')}@list.example.test`);
      expect(call.raw.equals(testMessage(`for-${r}`))).toBe(true);
    }
  });

  it('each accepted call is handed to the sent-log before the next call goes out', async () => {
    const events: string[] = [];
    fake.onAccepted = (call) => events.push(`accepted ${call.to.join(',')}`);
    const one = createSesTransport({ ...options(), max_connections: 1 }, {});
    try {
      await one.send({
        from: 'b@l.test',
        to: members(3),
        raw: testMessage('order'),
        senderFor: (r) => `b+${r.replace('@', '=')}@l.test`,
        onTransaction: async (results) => {
          events.push(`logged ${results.map((r) => r.recipient).join(',')}`);
        },
      });
    } finally {
      fake.onAccepted = undefined;
    }
    expect(events).toEqual(members(3).flatMap((m) => [`accepted ${m}`, `logged ${m}`]));
  });

  it('MessageRejected naming one member fails that one only, with the reason', async () => {
    fake.fallback = (call) =>
      call.to.includes('m3@members.test')
        ? {
            status: 400,
            type: 'MessageRejected',
            message:
              'Email address is not verified. The following identities failed the check in region EU-WEST-1: m3@members.test',
          }
        : undefined;
    const results = await ses.send({ from: 'b@l.test', to: members(5), raw: testMessage('rej') });
    expect(byStatus(results, 'failed')).toEqual(['m3@members.test']);
    expect(byStatus(results, 'delivered')).toHaveLength(4);
    const failed = results.find((r) => r.status === 'failed')!;
    expect(failed.code).toBe(554);
    expect(failed.response).toContain('MessageRejected: Email address is not verified');
  });

  it('a message rejected for its content fails every recipient of the call', async () => {
    fake.script.push({
      status: 400,
      type: 'MessageRejected',
      message: 'Message length is more than 10485760 bytes long',
    });
    const results = await ses.send({ from: 'b@l.test', to: members(3), raw: testMessage('big') });
    expect(byStatus(results, 'failed')).toHaveLength(3);
    expect(fake.calls).toHaveLength(1);
  });

  it('throttling and 5xx are tried again with backoff, then delivered', async () => {
    fake.script.push(
      { status: 429, type: 'TooManyRequestsException', message: 'Too Many Requests' },
      { status: 503, type: 'ServiceUnavailable', message: 'Service unavailable' },
    );
    const results = await ses.send({ from: 'b@l.test', to: members(2), raw: testMessage('thr') });
    expect(byStatus(results, 'delivered')).toHaveLength(2);
    expect(fake.calls.map((c) => c.status)).toEqual([429, 503, 200]);
  });

  it('still throttled after the retries: deferred with the service’s hint', async () => {
    fake.fallback = () => ({
      status: 429,
      type: 'TooManyRequestsException',
      message: 'Maximum sending rate exceeded.',
      retryAfter: '1',
    });
    const results = await ses.send({ from: 'b@l.test', to: members(2), raw: testMessage('thr2') });
    expect(byStatus(results, 'deferred')).toHaveLength(2);
    expect(fake.calls).toHaveLength(4); // the first try and 3 more
    expect(results[0]!.response).toMatch(
      /TooManyRequestsException: Maximum sending rate exceeded\..*retry after 1 s/,
    );
  });

  it('a Retry-After longer than the transport waits is left to the queue at once', async () => {
    fake.script.push({
      status: 429,
      type: 'TooManyRequestsException',
      message: 'slow down',
      retryAfter: '600',
    });
    const results = await ses.send({ from: 'b@l.test', to: members(1), raw: testMessage('long') });
    expect(results[0]!.status).toBe('deferred');
    expect(results[0]!.response).toContain('retry after 600 s');
    expect(fake.calls).toHaveLength(1);
  });

  it('a wrong key or a paused account defers (not the members’ fault), never fails', async () => {
    const wrong = createSesTransport({ ...options(), secret_access_key: 'not-the-key' }, {});
    const a = await wrong.send({ from: 'b@l.test', to: members(2), raw: testMessage('key') });
    expect(byStatus(a, 'deferred')).toHaveLength(2);
    expect(a[0]!.response).toContain('SignatureDoesNotMatch');
    fake.script.push({
      status: 400,
      type: 'SendingPausedException',
      message: 'Sending is paused for this account.',
    });
    const b = await ses.send({ from: 'b@l.test', to: members(1), raw: testMessage('paused') });
    expect(b[0]!.status).toBe('deferred');
  });

  it('no service listening: deferred', async () => {
    const gone = createSesTransport({ ...options(), endpoint: 'http://127.0.0.1:1' }, {});
    const results = await gone.send({ from: 'b@l.test', to: members(2), raw: testMessage('gone') });
    expect(byStatus(results, 'deferred')).toHaveLength(2);
  });

  it('credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; none at all is an error', async () => {
    const fromEnv = createSesTransport(
      { region: TEST_AWS.region, endpoint: fake.url },
      { AWS_ACCESS_KEY_ID: TEST_AWS.keyId, AWS_SECRET_ACCESS_KEY: TEST_AWS.secret },
    );
    const results = await fromEnv.send({
      from: 'b@l.test',
      to: ['x@y.test'],
      raw: testMessage('env'),
    });
    expect(results[0]!.status).toBe('delivered');
    expect(() => createSesTransport({ region: TEST_AWS.region }, {})).toThrow(/AWS_ACCESS_KEY_ID/);
  });

  it('the configuration set goes with each call when named', async () => {
    const withSet = createSesTransport({ ...options(), configuration_set: 'lists' }, {});
    await withSet.send({ from: 'b@l.test', to: ['x@y.test'], raw: testMessage('cs') });
    expect(fake.calls[0]!.options).toEqual({ ConfigurationSetName: 'lists' });
  });
});

describe('token bucket (max_per_second)', () => {
  it('spends recipients a second, one second saved up; a call bigger than that goes into debt', async () => {
    let t = 0;
    const waits: number[] = [];
    const bucket = tokenBucket({
      perSecond: 40,
      now: () => t,
      sleep: async (ms) => {
        waits.push(ms);
        t += ms;
      },
    });
    await bucket.take(40); // the burst
    expect(t).toBe(0);
    await bucket.take(20); // half a second
    expect(t).toBe(500);
    await bucket.take(50); // more than the bucket holds: waits for a full bucket, then owes 10
    expect(t).toBe(1500);
    await bucket.take(10); // pays the debt and its own
    expect(t).toBe(2000);
    expect(waits.every((w) => w > 0)).toBe(true);
  });
  it('no rate: never waits', async () => {
    const bucket = tokenBucket({ sleep: () => Promise.reject(new Error('waited')) });
    await bucket.take(1000);
  });
});

describe('Mailgun transport', () => {
  let fake: FakeService;
  let mailgun: Transport;
  const options = () => ({
    domain: TEST_MAILGUN.domain,
    api_key: TEST_MAILGUN.key,
    base_url: fake.url,
    retry_initial_ms: 5,
  });
  beforeAll(async () => {
    fake = await startFakeMailgun();
    mailgun = createMailgunTransport(options());
  });
  afterAll(async () => {
    await mailgun?.close();
    await fake?.stop();
  });
  beforeEach(() => {
    fake.calls.length = 0;
    fake.script.length = 0;
    fake.fallback = undefined;
  });

  it('the raw bytes as the message file, the members as to, tracking off', async () => {
    const raw = Buffer.concat([testMessage('mg'), Buffer.from([0xff, 0x0d, 0x0a])]);
    const results = await mailgun.send({ from: 'b@l.test', to: members(3), raw });
    expect(byStatus(results, 'delivered')).toHaveLength(3);
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]!.raw.equals(raw)).toBe(true);
    expect(fake.calls[0]!.to).toEqual(members(3));
    expect(fake.calls[0]!.options).toEqual({
      'o:tracking': 'no',
      'o:tracking-clicks': 'no',
      'o:tracking-opens': 'no',
    });
  });

  it('VERP alone batches (Mailgun writes its own sender); personal copies go one by one', async () => {
    await mailgun.send({
      from: 'b@l.test',
      to: members(3),
      raw: testMessage('v'),
      senderFor: (r) => `b+${r}`,
    });
    expect(fake.calls).toHaveLength(1);
    fake.calls.length = 0;
    await mailgun.send({
      from: 'b@l.test',
      to: members(3),
      raw: testMessage('p'),
      personalise: (r) => testMessage(r),
    });
    expect(fake.calls.map((c) => c.raw.toString())).toEqual(
      members(3).map((r) => testMessage(r).toString()),
    );
  });

  it('401 (a wrong key) defers; 400 fails with the reason; 429 and 5xx are tried again', async () => {
    const wrong = createMailgunTransport({ ...options(), api_key: 'key-wrong' });
    const a = await wrong.send({ from: 'b@l.test', to: ['x@y.test'], raw: testMessage('401') });
    expect(a[0]).toMatchObject({ status: 'deferred' });
    expect(a[0]!.response).toContain('Forbidden');

    fake.script.push({ status: 400, message: 'Message not valid: too many recipients' });
    const b = await mailgun.send({ from: 'b@l.test', to: ['x@y.test'], raw: testMessage('400') });
    expect(b[0]).toMatchObject({ status: 'failed', code: 554 });
    expect(b[0]!.response).toContain('too many recipients');

    fake.script.push(
      { status: 429, message: 'Too many requests' },
      { status: 502, message: 'Bad gateway' },
    );
    const c = await mailgun.send({ from: 'b@l.test', to: ['x@y.test'], raw: testMessage('429') });
    expect(c[0]!.status).toBe('delivered');
    expect(fake.calls.slice(-3).map((x) => x.status)).toEqual([429, 502, 200]);
  });

  it("a 400 about 'to' in a batch is asked again one by one: only the bad address fails", async () => {
    fake.fallback = (call) =>
      call.to.includes('not-an-address')
        ? {
            status: 400,
            message: "'to' parameter is not a valid address. please check documentation",
          }
        : undefined;
    const results = await mailgun.send({
      from: 'b@l.test',
      to: ['a@y.test', 'not-an-address', 'c@y.test'],
      raw: testMessage('split'),
    });
    expect(byStatus(results, 'failed')).toEqual(['not-an-address']);
    expect(byStatus(results, 'delivered')).toEqual(['a@y.test', 'c@y.test']);
  });
});
