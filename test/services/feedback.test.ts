/**
 * The services' feedback as `malist serve` takes it (issue 23): a list sends a post through
 * the fake SES, then the fake "SNS" (a test key and a self-signed certificate, served by
 * the fake on 127.0.0.1, allowed by `sns_hosts:`) posts signed messages to /feedback/ses,
 * and Mailgun-style webhooks come to /feedback/mailgun. A subscription is confirmed; a
 * forged or foreign message is refused; a bounce counts in the member's bounce score; a
 * complaint unsubscribes the member, tells the owner, raises the day's rate shown by
 * `malist complaints` and, past the ceiling, holds the next post; a replayed event
 * counts once; Mailgun's signature is checked for forgery, age and replay.
 */
import { execFileSync } from 'node:child_process';
import { createHmac, createSign, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SnsMessage, stringToSign } from '../../src/web/feedback/sns.ts';
import { type RunningWeb, startWeb } from '../../src/web/server.ts';
import { listStats } from '../../src/web/stats-data.ts';
import { malist, tempConfig } from '../cli/run-malist.ts';
import { type FakeService, startFakeSes, TEST_AWS } from '../helpers/fake-services.ts';
import { hasCommand } from '../helpers/has-command.ts';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:malist-feedback';
const MEMBERS = ['ann@example.org', 'ben@example.org', 'cat@example.org', 'dan@example.org'];
const OWNER = 'owner@example.org';
const POST_ID = 'feedback-post-1@example.org';
const MG_KEY = 'mailgun-webhook-signing-key';
const ENV = { SES_TEST_SECRET: TEST_AWS.secret, MG_TEST_KEY: MG_KEY };

let fake: FakeService;
let web: RunningWeb;
let dir = '';
let key = '';
let certUrl = '';
const confirmed: string[] = [];

const post = (id: string) =>
  Buffer.from(
    `From: poster@example.com\r\nTo: red@list.example.org\r\nSubject: hello ${id}\r\nMessage-ID: <${id}>\r\n\r\nHello list.\r\n`,
  );

beforeAll(async () => {
  if (!hasCommand('openssl')) throw new Error('openssl is needed to make the test SNS certificate');
  fake = await startFakeSes();
  const tmp = await mkdtemp(join(tmpdir(), 'malist-sns-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=sns.test',
      '-keyout',
      join(tmp, 'key.pem'),
      '-out',
      join(tmp, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  key = await readFile(join(tmp, 'key.pem'), 'utf8');
  const cert = await readFile(join(tmp, 'cert.pem'), 'utf8');
  fake.routes.set('/SimpleNotificationService-test.pem', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(cert);
  });
  fake.routes.set('/confirm', (req, res) => {
    confirmed.push(req.url ?? '');
    res.writeHead(200).end('<ConfirmSubscriptionResponse/>');
  });
  certUrl = `${fake.url}/SimpleNotificationService-test.pem`;
  dir = await tempConfig(
    [
      'state_dir: state',
      'distribute: { type: queue }',
      'queue:',
      '  dir: spool',
      '  engine: ses',
      `  ses: { region: ${TEST_AWS.region}, endpoint: "${fake.url}", access_key_id: ${TEST_AWS.keyId}, secret_access_key_env: SES_TEST_SECRET }`,
      'feedback:',
      `  ses: { topics: ["${TOPIC}"], sns_hosts: ["127.0.0.1:${fake.port}"] }`,
      '  mailgun: { signing_key_env: MG_TEST_KEY }',
      '  complaints: { hold_rate: 0.003 }',
      '',
    ].join('\n'),
  );
  await writeFile(
    join(dir, 'lists/red.yaml'),
    [
      'address: red@list.example.org',
      'posting: open',
      'verp: false',
      `members: [${MEMBERS.join(', ')}]`,
      `owners: [${OWNER}]`,
      `moderators: [${OWNER}]`,
      '',
    ].join('\n'),
  );
  // A second list probes at the first bounce: its probe's bounce comes by webhook only.
  await writeFile(
    join(dir, 'lists/blue.yaml'),
    [
      'address: blue@list.example.org',
      'posting: open',
      'verp: false',
      'members: [eve@example.org]',
      `owners: [${OWNER}]`,
      'bounces: { threshold: 1 }',
      '',
    ].join('\n'),
  );
  const sent = await malist(['receive', '--config', dir, '--list', 'red'], {
    input: post(POST_ID),
    env: ENV,
  });
  expect(sent.code, sent.stderr).toBe(0);
  expect(fake.calls.flatMap((c) => c.to).sort()).toEqual(MEMBERS);
  Object.assign(process.env, ENV);
  web = await startWeb({ dir, port: 0, log: () => {} });
}, 120_000);
afterAll(async () => {
  await web?.close();
  await fake?.stop();
});

/** An SNS message signed with the test key (SignatureVersion 2 unless said). */
function signed(
  fields: Partial<SnsMessage> & Pick<SnsMessage, 'Type' | 'Message'>,
  version = '2',
): SnsMessage {
  const m = {
    MessageId: randomUUID(),
    TopicArn: TOPIC,
    Timestamp: new Date().toISOString(),
    SignatureVersion: version,
    SigningCertURL: certUrl,
    Signature: '',
    ...fields,
  } as SnsMessage;
  m.Signature = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256')
    .update(stringToSign(m))
    .sign(key, 'base64');
  return m;
}

const send = (path: string, body: unknown) =>
  fetch(`${web.url}/feedback/${path}`, {
    method: 'POST',
    headers: { 'content-type': path === 'ses' ? 'text/plain; charset=UTF-8' : 'application/json' },
    body: JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, text: await r.text() }));

const sesNotice = (type: 'Bounce' | 'Complaint', recipient: string, feedbackId: string) =>
  JSON.stringify({
    notificationType: type,
    mail: { messageId: '0102abc', commonHeaders: { messageId: `<${POST_ID}>` } },
    ...(type === 'Bounce'
      ? {
          bounce: {
            feedbackId,
            bounceType: 'Permanent',
            bouncedRecipients: [
              {
                emailAddress: recipient,
                status: '5.1.1',
                diagnosticCode: 'smtp; 550 5.1.1 user unknown',
              },
            ],
          },
        }
      : {
          complaint: {
            feedbackId,
            complaintFeedbackType: 'abuse',
            complainedRecipients: [{ emailAddress: recipient }],
          },
        }),
  });

function mailgunBody(
  event: Record<string, unknown>,
  at = Math.floor(Date.now() / 1000),
  token = randomUUID(),
  sigKey = MG_KEY,
) {
  const timestamp = String(at);
  const signature = createHmac('sha256', sigKey)
    .update(timestamp + token)
    .digest('hex');
  return {
    signature: { timestamp, token, signature },
    'event-data': { id: randomUUID(), ...event },
  };
}

describe('feedback webhooks in malist serve', () => {
  it('an SNS subscription confirmation (SignatureVersion 1) is confirmed at its SubscribeURL', async () => {
    const r = await send(
      'ses',
      signed(
        {
          Type: 'SubscriptionConfirmation',
          Message: 'You have chosen to subscribe…',
          Token: 'tok123',
          SubscribeURL: `${fake.url}/confirm?Token=tok123`,
        },
        '1',
      ),
    );
    expect(r).toMatchObject({ status: 200 });
    expect(confirmed).toEqual(['/confirm?Token=tok123']);
  });

  it('forged, foreign or off-host SNS messages are refused and record nothing', async () => {
    const good = signed({
      Type: 'Notification',
      Message: sesNotice('Complaint', 'ann@example.org', 'forged-1'),
    });
    const forged = { ...good, Message: sesNotice('Complaint', 'dan@example.org', 'forged-1') };
    expect((await send('ses', forged)).status).toBe(403);
    const foreign = signed({
      Type: 'Notification',
      TopicArn: 'arn:aws:sns:eu-west-1:999999999999:other',
      Message: good.Message,
    });
    expect((await send('ses', foreign)).status).toBe(403);
    const offHost = signed({
      Type: 'Notification',
      SigningCertURL: 'https://evil.example/cert.pem',
      Message: good.Message,
    });
    expect((await send('ses', offHost)).status).toBe(403);
    const subscribeElsewhere = signed({
      Type: 'SubscriptionConfirmation',
      Message: 'x',
      Token: 't',
      SubscribeURL: 'https://evil.example/confirm',
    });
    expect((await send('ses', subscribeElsewhere)).status).toBe(403);
    expect(confirmed).toHaveLength(1);
    const list = await malist(['members', 'list', '--config', dir, '--list', 'red'], { env: ENV });
    expect(list.stdout).toMatch(/^ann@example\.org$/m);
  }, 60_000);

  it('a permanent bounce counts in the member’s bounce score; replayed, it counts once', async () => {
    const bounce = () =>
      signed({
        Type: 'Notification',
        Message: sesNotice('Bounce', 'ben@example.org', 'bounce-feedback-1'),
      });
    const r = await send('ses', bounce());
    expect(r.status).toBe(200);
    expect(r.text).toContain('bounce ben@example.org: scored (red)');
    const again = await send('ses', bounce());
    expect(again.text).toContain('bounce ben@example.org: repeat (red)');
    const list = await malist(['members', 'list', '--config', dir, '--list', 'red'], { env: ENV });
    expect(list.stdout).toMatch(/^ben@example\.org\tbounces=1 .*550 5\.1\.1 user unknown/m);
  }, 60_000);

  it('a complaint unsubscribes the member, tells the owner and raises the rate; a replay counts once', async () => {
    const complaint = () =>
      signed({
        Type: 'Notification',
        Message: sesNotice('Complaint', 'cat@example.org', 'complaint-feedback-1'),
      });
    const before = fake.calls.length;
    const r = await send('ses', complaint());
    expect(r.status).toBe(200);
    expect(r.text).toContain('complaint cat@example.org: counted (red)');
    expect((await send('ses', complaint())).text).toContain(
      'complaint cat@example.org: repeat (red)',
    );
    const members = await malist(['members', 'list', '--config', dir, '--list', 'red'], {
      env: ENV,
    });
    expect(members.stdout).not.toContain('cat@example.org');
    const notices = fake.calls.slice(before).filter((c) => c.to.includes(OWNER));
    expect(notices).toHaveLength(1);
    expect(notices[0]!.raw.toString()).toContain(
      'cat@example.org reported a post of red@list.example.org as spam',
    );
    const shown = await malist(['complaints', '--config', dir, '--list', 'red'], { env: ENV });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(
      /^red\tcomplaints=1 delivered=4 rate=25\.00%\tWARNING: above 0\.10%; new posts HELD/m,
    );
  }, 60_000);

  it('past the ceiling, the next post is held, not sent', async () => {
    const before = fake.calls.length;
    const ran = await malist(['receive', '--config', dir, '--list', 'red'], {
      input: post('after-complaint@example.org'),
      env: ENV,
    });
    expect(ran.code, ran.stderr).toBe(0);
    expect(fake.calls.slice(before).filter((c) => c.to.some((t) => MEMBERS.includes(t)))).toEqual(
      [],
    );
    const held = await malist(['held', 'list', '--config', dir], { env: ENV });
    expect(held.stdout).toContain('after-complaint');
  }, 60_000);

  it('Mailgun: a bounce at the threshold sends a probe; the probe’s bounce, known by its Message-ID, sets nomail', async () => {
    const ran = await malist(['receive', '--config', dir, '--list', 'blue'], {
      input: post('blue-post-1@example.org'),
      env: ENV,
    });
    expect(ran.code, ran.stderr).toBe(0);
    const before = fake.calls.length;
    const failed = (messageId: string) =>
      mailgunBody({
        event: 'failed',
        severity: 'permanent',
        recipient: 'eve@example.org',
        'delivery-status': { code: 550, message: '5.1.1 mailbox unavailable' },
        message: { headers: { 'message-id': messageId } },
      });
    const first = await send('mailgun', failed('blue-post-1@example.org'));
    expect(first.text).toContain('bounce eve@example.org: probe (blue)');
    const probes = fake.calls
      .slice(before)
      .filter((c) => c.to.includes('eve@example.org') && c.status === 200);
    expect(probes).toHaveLength(1);
    const probeId = /^Message-ID: *<([^>]+)>/im.exec(probes[0]!.raw.toString('latin1'))?.[1];
    expect(probeId).toMatch(/^bounce-probe\.[0-9a-f]{16}@list\.example\.org$/);
    const second = await send('mailgun', failed(probeId!));
    expect(second.text).toContain('bounce eve@example.org: disabled (blue)');
    const members = await malist(['members', 'list', '--config', dir, '--list', 'blue'], {
      env: ENV,
    });
    expect(members.stdout).toMatch(/^eve@example\.org\t.*nomail/m);
  }, 60_000);

  it('Mailgun: a signed complaint counts; a bad signature, a stale one or a replayed token is refused', async () => {
    const event = {
      event: 'complained',
      recipient: 'dan@example.org',
      message: { headers: { 'message-id': POST_ID } },
    };
    const good = mailgunBody(event);
    const r = await send('mailgun', good);
    expect(r.status).toBe(200);
    expect(r.text).toContain('complaint dan@example.org: counted (red)');
    expect((await send('mailgun', good)).text).toContain('token replayed');
    expect(
      (await send('mailgun', mailgunBody(event, undefined, undefined, 'wrong-key'))).status,
    ).toBe(403);
    const stale = await send('mailgun', mailgunBody(event, Math.floor(Date.now() / 1000) - 3600));
    expect(stale).toMatchObject({ status: 403, text: 'refused: stale timestamp\n' });
    const shown = await malist(['complaints', '--config', dir], { env: ENV });
    expect(shown.stdout).toMatch(/^red\tcomplaints=2 delivered=4 /m);
    // The web stats show the same standing.
    const state = web.site.current();
    const stats = await listStats(state, state.list('red')!);
    expect(stats.complaints).toMatchObject({ complaints: 2, delivered: 4, rate: 0.5 });
  }, 60_000);
});
