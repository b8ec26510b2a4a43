/**
 * `malist check` through the real CLI: every problem once, at the line that wrote it; one
 * TLS vocabulary for every server with the old keys warned of; CA files relative to their
 * YAML and checked; `--json`; no stack trace when the reader of stdout goes away.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { MALIST, malist, runCommand, tempConfig } from './run-malist.ts';

/** A config dir whose malist.yaml is `main`, relative paths shown as an operator in it sees them. */
async function configWith(main: string, lists: Record<string, string> = {}) {
  const dir = await tempConfig(main);
  for (const [name, text] of Object.entries(lists))
    await writeFile(join(dir, 'lists', `${name}.yaml`), text);
  return dir;
}

/** `malist check` run in `dir`: stderr lines, without the final empty one. */
async function check(dir: string, env: NodeJS.ProcessEnv = {}, args: string[] = []) {
  const r = await malist(['check', ...args], { cwd: dir, env });
  return { ...r, errors: r.stderr.split('\n').filter((l) => l !== '') };
}

let pem: string;
beforeAll(() => {
  // A self-signed CA certificate, as an operator's private CA would be.
  pem = execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      '/dev/null',
      '-subj',
      '/CN=Example Private CA',
      '-days',
      '2',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
});

const SERVERS = (mailbox: string, outgoing: string) =>
  `state_dir: state\nservers:\n  mailbox:\n${mailbox}  outgoing:\n${outgoing}fetch:\n  - type: pop3\n    server: mailbox\ndistribute:\n  type: queue\n  server: outgoing\nqueue:\n  dir: spool\n`;
const MAILBOX =
  '    host: pop.example.com\n    tls: implicit\n    user: lists\n    password_env: POP_PW\n';
const OUTGOING =
  '    host: smtp.example.com\n    port: 587\n    tls: starttls\n    user: lists\n    password_env: SMTP_PW\n';
const ENV = { POP_PW: 'p', SMTP_PW: 's' };

describe('malist check: each problem once, where it is written', () => {
  it('a missing environment variable is one error, and the summary still names the units', async () => {
    const dir = await configWith(SERVERS(MAILBOX, OUTGOING));
    const r = await check(dir, { SMTP_PW: 's', POP_PW: '' });
    expect(r.code).toBe(78);
    expect(r.errors).toEqual([
      'malist.yaml:7:19 servers.mailbox.password_env: environment variable POP_PW is not set (fix: export POP_PW where malist runs (for cron: in the crontab or a wrapper script), or use password_file:)',
      'malist check: 1 problem',
    ]);
    expect(r.stdout.split('\n')[0]).toBe(
      'malist.yaml: 1 source(s) [pop3], distribute [queue], reactors [stderr-logger]',
    );
  });

  it('a literal password is refused once: no false "SMTP AUTH needs both"', async () => {
    const dir = await configWith(
      SERVERS(MAILBOX, OUTGOING.replace('password_env: SMTP_PW', 'password: hunter2')),
    );
    const r = await check(dir, ENV);
    expect(r.code).toBe(78);
    expect(r.errors).toHaveLength(2);
    expect(r.errors[0]).toMatch(
      /^malist\.yaml:13:5 servers\.outgoing\.password: a literal password in YAML is refused/,
    );
    expect(r.stderr).not.toContain('SMTP AUTH');
    expect(r.stderr).not.toContain('hunter2');
  });

  it('port: "995" under servers: is reported at its own line, not at fetch:', async () => {
    const dir = await configWith(SERVERS(`${MAILBOX}    port: "995"\n`, OUTGOING));
    const r = await check(dir, ENV);
    expect(r.errors).toEqual([
      "malist.yaml:8:11 servers.mailbox.port: pop3: expected a number, got '995' (fix: write a number without quotes, e.g. port: 1000)",
      'malist check: 1 problem',
    ]);
  });

  it('a typo inside unit_options.footer is reported at its own line, in the file that wrote it', async () => {
    const dir = await configWith(
      'state_dir: state\ndistribute:\n  type: maildir\n  dir: out\ndefaults:\n  pipeline: [sanity, footer, envelope]\n  unit_options:\n    footer:\n      txet: site footer\n',
      {
        green:
          'address: green@list.example.com\nmembers: [a@example.org]\npipeline:\n  - sanity\n  - type: footer\n    text: hello\n  - envelope\nunit_options:\n  footer:\n    header: 1\n',
      },
    );
    const r = await check(dir);
    expect(r.code).toBe(78);
    // The site-wide typo once, though every list using the defaults' pipeline takes it.
    expect(r.errors).toEqual([
      'lists/green.yaml:10:13 unit_options.footer.header: footer: expected a string, got number 1 (fix: write a string here)',
      "malist.yaml:9:7 defaults.unit_options.footer.txet: footer: unknown key (fix: did you mean 'text'?)",
      'malist check: 2 problems',
    ]);
  });
});

describe('malist check: dns.servers', () => {
  it('an address that is not an IP is one error at its line, not an internal error (exit 70)', async () => {
    const dir = await configWith(
      'state_dir: state\ndns:\n  servers: [not-an-ip]\ndistribute:\n  type: maildir\n  dir: out\n',
    );
    const r = await check(dir);
    expect(r.code).toBe(78);
    expect(r.errors).toEqual([
      'malist.yaml:3:12 dns.servers: not DNS server addresses: Invalid IP address: not-an-ip (fix: write IP addresses, with a port when not 53: [127.0.0.1, "[::1]:5353", "192.0.2.1:5353"])',
      'malist check: 1 problem',
    ]);
  });
});

describe('malist check: one TLS vocabulary for every server', () => {
  it('tls: implicit | starttls | none, ca_file, servername, reject_unauthorized for POP3, SMTP and IMAP APPEND', async () => {
    const dir = await configWith(
      SERVERS(
        `${MAILBOX}    ca_file: ca.pem\n    servername: mail.example.com\n`,
        `${OUTGOING}    ca_file: ca.pem\n    reject_unauthorized: true\n`,
      ).replace(
        'distribute:\n  type: queue\n  server: outgoing\n',
        'distribute:\n  type: multiple\n  distributors:\n    - type: queue\n      server: outgoing\n    - type: imap-append\n      host: imap.example.com\n      tls: none\n      user: archive\n      password_env: SMTP_PW\n',
      ),
    );
    await writeFile(join(dir, 'ca.pem'), pem);
    const r = await check(dir, ENV);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('the old keys still work, each warned of at its own line with the new spelling', async () => {
    const dir = await configWith(
      SERVERS(
        MAILBOX.replace('tls: implicit', 'tls: true'),
        OUTGOING.replace('tls: starttls', 'starttls: required\n    tls:\n      ca: ca.pem'),
      ),
    );
    await writeFile(join(dir, 'ca.pem'), pem);
    const r = await check(dir, ENV);
    expect(r.code).toBe(0);
    expect(r.errors).toEqual([
      'warning: malist.yaml:5:5 servers.mailbox.tls: deprecated spelling, still read (fix: write tls: implicit)',
      'warning: malist.yaml:11:5 servers.outgoing.starttls: deprecated spelling, still read (fix: write tls: starttls)',
      'warning: malist.yaml:13:7 servers.outgoing.tls.ca: deprecated spelling, still read (fix: write ca_file: PATH)',
    ]);
  });

  it('tls: with an unknown mode names the three', async () => {
    const dir = await configWith(SERVERS(MAILBOX, OUTGOING.replace('starttls', 'startls')));
    const r = await check(dir, ENV);
    expect(r.code).toBe(78);
    expect(r.errors[0]).toMatch(
      /^malist\.yaml:11:10 servers\.outgoing\.tls: queue: expected one of implicit \| starttls \| none/,
    );
  });
});

describe('malist check: CA files are read relative to their YAML file and must exist', () => {
  it('a missing ca_file is an error at its line, with the fix', async () => {
    const dir = await configWith(SERVERS(`${MAILBOX}    ca_file: private-ca.pem\n`, OUTGOING));
    const r = await check(dir, ENV);
    expect(r.code).toBe(78);
    expect(r.errors).toEqual([
      expect.stringMatching(
        /^malist\.yaml:8:14 servers\.mailbox\.ca_file: cannot read the CA file \/.*\/private-ca\.pem: ENOENT \(fix: put the PEM certificate of the CA .*relative to this YAML file\)\)$/,
      ),
      'malist check: 1 problem',
    ]);
  });

  it('a file that is not a PEM certificate is an error', async () => {
    const dir = await configWith(SERVERS(MAILBOX, `${OUTGOING}    ca_file: ca.der\n`));
    await writeFile(join(dir, 'ca.der'), Buffer.from([0x30, 0x82, 0x01, 0x0a]));
    const r = await check(dir, ENV);
    expect(r.code).toBe(78);
    expect(r.errors[0]).toMatch(/servers\.outgoing\.ca_file: .*ca\.der holds no PEM certificate/);
  });

  it('ca_file and the older SMTP tls.ca resolve against the YAML file, not the working directory', async () => {
    const dir = await configWith(
      SERVERS(
        `${MAILBOX}    ca_file: tls/ca.pem\n`,
        OUTGOING.replace('tls: starttls', 'tls: { ca: tls/ca.pem }'),
      ),
    );
    await mkdir(join(dir, 'tls'));
    await writeFile(join(dir, 'tls/ca.pem'), pem);
    // Run from elsewhere: the root of this checkout has no tls/ca.pem.
    const r = await malist(['check', '--config', dir], { env: ENV });
    expect(r.stderr).toContain('servers.outgoing.tls.ca: deprecated spelling');
    expect(r.stderr).not.toContain('cannot read');
    expect(r.code).toBe(0);
  });
});

describe('malist check: the directories a run writes', () => {
  it('a state_dir, queue dir or delivery log that can never be made is a problem at its line', async () => {
    const dir = await configWith(
      'state_dir: data/state\ndistribute:\n  type: queue\n  dir: spool/q\ndelivery_log: logs/delivery.log\n',
    );
    for (const file of ['data', 'spool', 'logs']) await writeFile(join(dir, file), 'a file\n');
    const r = await check(dir);
    expect(r.code).toBe(78);
    expect(r.errors).toEqual([
      `malist.yaml:1:12 state_dir: ${dir}/data/state cannot be made: ${dir}/data is a file, not a directory (fix: point state_dir at a directory, or move the file ${dir}/data away)`,
      expect.stringMatching(
        /^malist\.yaml:3:3 distribute: .*\/spool\/q cannot be made: .*\/spool is a file/,
      ),
      expect.stringMatching(
        /^malist\.yaml:5:15 delivery_log: .*\/logs cannot be made: .*\/logs is a file/,
      ),
      'malist check: 3 problems',
    ]);
  });
});

describe('malist check --json and pipes', () => {
  it('--json: one document with errors and warnings (file, line, message, fix), sources and lists', async () => {
    const dir = await configWith(SERVERS(MAILBOX.replace('tls: implicit', 'tls: true'), OUTGOING), {
      red: 'address: red@list.example.com\nposting: member\nmembers: [a@example.org]\n',
    });
    const r = await check(dir, ENV, ['--json']);
    expect(r.code).toBe(78);
    expect(r.stderr).toBe('');
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({
      config: 'malist.yaml',
      ok: false,
      errors: [
        {
          file: 'lists/red.yaml',
          line: 2,
          col: 10,
          key: 'posting',
          message: "expected one of open | members | moderated | announce, got 'member'",
          fix: "did you mean 'members'?",
        },
      ],
      warnings: [
        {
          file: 'malist.yaml',
          line: 5,
          key: 'servers.mailbox.tls',
          message: 'deprecated spelling, still read',
          fix: 'write tls: implicit',
        },
      ],
      sources: ['pop3'],
      distribute: ['queue'],
    });
    expect(doc.lists.map((l: { name: string }) => l.name)).toEqual(['announce', 'dev']);
    expect(doc.lists[1]).toMatchObject({
      name: 'dev',
      address: 'dev@list.example.com',
      members: 2,
      posting: 'open',
      pipeline: expect.arrayContaining(['sanity', 'envelope']),
    });
  });

  it('malist check | head -1: the first line, no EPIPE stack trace', async () => {
    const lists: Record<string, string> = {};
    for (let i = 0; i < 400; i++)
      lists[`l${i}`] = `address: l${i}@list.example.com\nmembers: [a@example.org]\n`;
    const dir = await configWith(
      'state_dir: state\ndistribute:\n  type: maildir\n  dir: out\n',
      lists,
    );
    for (const args of ['check', 'check --json']) {
      const r = await runCommand(
        'sh',
        ['-c', `"${process.execPath}" "${MALIST}" ${args} 2>err.txt | head -1; cat err.txt`],
        { cwd: dir },
      );
      expect(r.stdout.split('\n')).toEqual([
        args === 'check' ? expect.stringMatching(/^malist\.yaml: 0 source/) : '{',
        '',
      ]);
      expect(r.stderr).toBe('');
    }
  });
});
