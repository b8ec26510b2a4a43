/**
 * A list sending through Amazon SES as users run it: `malist check` and `malist receive`
 * with `queue: { engine: ses, ses: { … } }` pointed at the local fake SES. Every member gets
 * the post; each call carries at most 50 recipients; VERP lists make a call per member with
 * the member's VERP address as SES's feedback address; what malist added (the one-click
 * List-Unsubscribe, the footer, the list's DKIM signature) arrives intact: dkimpy verifies
 * the list's signature on the bytes the fake received.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { malist, tempConfig } from '../cli/run-malist.ts';
import { keyRecords, testKey, testKeyPem } from '../helpers/auth-keys.ts';
import { dkimpyAvailable, dkimpyVerifier } from '../helpers/dkimpy.ts';
import { type FakeService, startFakeSes, TEST_AWS } from '../helpers/fake-services.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'auth');
const rsa = testKey('rsa-sha256', 'list.example.org', 'rsa2025');
const BATCHED = Array.from({ length: 120 }, (_, i) => `member${i}@example.org`);
const PERSONAL = ['ann@example.org', 'ben@example.net'];
const ENV = { SES_TEST_SECRET: TEST_AWS.secret, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' };

let fake: FakeService;
let dir = '';

function mainYaml(ses: string): string {
  return [
    'state_dir: state',
    'distribute: { type: queue }',
    'queue:',
    '  dir: spool',
    '  engine: ses',
    `  ses: ${ses}`,
    '',
  ].join('\n');
}

beforeAll(async () => {
  fake = await startFakeSes();
  dir = await tempConfig(
    mainYaml(
      `{ region: ${TEST_AWS.region}, endpoint: "${fake.url}", access_key_id: ${TEST_AWS.keyId}, secret_access_key_env: SES_TEST_SECRET, retry_initial_ms: 5 }`,
    ),
  );
  await mkdir(join(dir, 'lists', 'keys'));
  await writeFile(
    join(dir, 'lists/keys/rsa2025.pem'),
    testKeyPem('rsa-sha256', 'rsa2025.list.example.org'),
    {
      mode: 0o600,
    },
  );
  const dkim = [
    'dkim:',
    '  - { domain: list.example.org, selector: rsa2025, key_file: keys/rsa2025.pem }',
  ];
  await writeFile(
    join(dir, 'lists/batched.yaml'),
    [
      'address: batched@list.example.org',
      'posting: open',
      'verp: false',
      `members: [${BATCHED.join(', ')}]`,
      ...dkim,
      '',
    ].join('\n'),
  );
  await writeFile(
    join(dir, 'lists/personal.yaml'),
    [
      'address: personal@list.example.org',
      'posting: open',
      `members: [${PERSONAL.join(', ')}]`,
      'unsubscribe_url: https://list.example.org/unsubscribe/{list}/{member}/{token}',
      'unit_options:',
      '  footer: { text: "Sent to {member}. Leave: {unsubscribe_url}" }',
      ...dkim,
      '',
    ].join('\n'),
  );
}, 60_000);
afterAll(async () => {
  await fake?.stop();
});

/** Posts the fixture (with another Message-ID when `id` is given) to `list`. */
async function receive(list: string, id?: string) {
  const before = fake.calls.length;
  const raw = readFileSync(join(FIXTURES, 'plain-post.eml'), 'latin1');
  const ran = await malist(['receive', '--config', dir, '--list', list], {
    input: Buffer.from(
      id ? raw.replace(/^Message-ID:.*$/im, `Message-ID: <${id}>`) : raw,
      'latin1',
    ),
    env: ENV,
  });
  return { ran, calls: fake.calls.slice(before) };
}

describe("README's SES example", () => {
  it('malist check takes it as written (the secrets in the environment)', async () => {
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
    const block = /### Sending through Amazon SES or Mailgun[\s\S]*?```yaml\n([\s\S]*?)```/.exec(
      readme,
    )?.[1];
    expect(block).toBeDefined();
    const example = await tempConfig(
      `state_dir: state\n${block!.replace('/var/spool/malist', 'spool')}`,
    );
    const env = { MALIST_SES_SECRET: 'x', MALIST_MAILGUN_WEBHOOK_KEY: 'y' };
    const checked = await malist(['check', '--config', example], { env });
    expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    const broken = await malist(['check', '--config', example], {
      env: { ...env, MALIST_SES_SECRET: '' },
    });
    expect(broken.stdout + broken.stderr).toMatch(
      /malist\.yaml:\d+:\d+ .*MALIST_SES_SECRET is not set/,
    );
  }, 120_000);
});

describe('a list through the SES transport', () => {
  it('malist check accepts the configuration; a missing key names file:line and the fix', async () => {
    const ok = await malist(['check', '--config', dir], { env: ENV });
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const bad = await malist(['check', '--config', dir], { env: { ...ENV, SES_TEST_SECRET: '' } });
    expect(bad.code).not.toBe(0);
    expect(bad.stdout + bad.stderr).toMatch(/malist\.yaml:6:\d+ .*SES_TEST_SECRET is not set/);
  }, 120_000);

  it('120 members of a batched list: calls of at most 50, one signed body, all delivered', async () => {
    const { ran, calls } = await receive('batched');
    expect(ran.code, ran.stderr).toBe(0);
    expect(calls.map((c) => c.to.length)).toEqual([50, 50, 20]);
    expect(calls.flatMap((c) => c.to).sort()).toEqual([...BATCHED].sort());
    expect(new Set(calls.map((c) => c.raw.toString('base64'))).size).toBe(1);
    expect(calls.every((c) => c.from === 'batched-bounces@list.example.org')).toBe(true);
    if (dkimpyAvailable()) {
      const dkimpy = await dkimpyVerifier(keyRecords([rsa]));
      const [result] = await dkimpy([calls[0]!.raw]);
      expect(
        result!.dkim.filter((d) => d.d === 'list.example.org').map((d) => [d.ok, d.error]),
      ).toEqual([[true, null]]);
    }
  }, 120_000);

  it('a VERP list with footers: a call per member, its VERP feedback address, its signed copy', async () => {
    const { ran, calls } = await receive('personal');
    expect(ran.code, ran.stderr).toBe(0);
    expect(calls.map((c) => c.to).sort()).toEqual(PERSONAL.map((p) => [p]).sort());
    for (const call of calls) {
      const member = call.to[0]!;
      expect(call.from).toMatch(
        new RegExp(`^personal-bounces\\+.*${member.split('@')[0]}.*@list\\.example\\.org$`),
      );
      const text = call.raw.toString('latin1');
      expect(text).toContain(`Sent to ${member}.`);
      expect(text).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    }
    if (dkimpyAvailable()) {
      const dkimpy = await dkimpyVerifier(keyRecords([rsa]));
      const results = await dkimpy(calls.map((c) => c.raw));
      for (const result of results)
        expect(
          result.dkim.filter((d) => d.d === 'list.example.org').map((d) => [d.ok, d.error]),
        ).toEqual([[true, null]]);
    }
  }, 120_000);

  it('a member SES rejects is failed and counted as a bounce; the others delivered', async () => {
    fake.fallback = (call) =>
      call.to.includes('ben@example.net')
        ? { status: 400, type: 'MessageRejected', message: 'Address blacklisted: ben@example.net' }
        : undefined;
    try {
      const { ran, calls } = await receive('personal', 'rejected-one@example.org');
      expect(ran.code, ran.stderr).toBe(0);
      const accepted = calls.filter((c) => c.status === 200);
      // ann's copy, and the owners' notice of the dead letter ben's refusal made (issue 17).
      expect(accepted.map((c) => c.to)).toContainEqual(['ann@example.org']);
      const others = accepted.filter((c) => !c.to.includes('ann@example.org'));
      for (const c of others)
        expect(c.raw.toString('latin1')).toMatch(/^Subject: \d+ undeliverable on /im);
      const status = await malist(['members', 'list', '--config', dir, '--list', 'personal'], {
        env: ENV,
      });
      expect(status.stdout).toMatch(
        /^ben@example\.net\tbounces=[\d.]+ .*MessageRejected: Address blacklisted/m,
      );
      expect(status.stdout).toMatch(/^ann@example\.org$/m);
    } finally {
      fake.fallback = undefined;
    }
  }, 120_000);
});
