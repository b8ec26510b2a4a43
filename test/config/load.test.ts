/**
 * Every class of configuration error names the file, the line and column, the key, what
 * was expected and a fix — checked on the problems as `malist check` prints them.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildList, planAll } from '../../src/config/build.ts';
import { loadConfig } from '../../src/config/load.ts';
import { memberTally, readMembersFile, yamlMemberAddresses } from '../../src/config/members.ts';
import { formatProblem } from '../../src/config/problem.ts';
import { createListMail } from '../../src/mail/list-mail.ts';

const MAIN = 'state_dir: state\ndistribute:\n  type: maildir\n  dir: out\n';

/** A config dir from file contents; returns the problems as printed. */
async function problems(
  files: Record<string, string>,
  env: NodeJS.ProcessEnv = {},
): Promise<{
  lines: string[];
  warnings: string[];
  members: Record<string, string[]>;
  dir: string;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'malist-config-'));
  await mkdir(join(dir, 'lists'));
  for (const [name, text] of Object.entries({ 'malist.yaml': MAIN, ...files }))
    await writeFile(join(dir, name), text);
  const config = await loadConfig({ dir, env });
  await planAll(config);
  // Shown relative to the config dir, as an operator running in it would see them.
  const shown = (list: typeof config.problems) =>
    list.map((p) => formatProblem(p).replaceAll(`${dir}/`, ''));
  // What the loader reads (it keeps the addresses only where no store reads them at each
  // post), read again by its own functions; as many as it counted for `malist check`.
  const members: Record<string, string[]> = {};
  for (const l of config.lists) {
    const raw = l.source.value as { members?: unknown[]; members_file?: string };
    const tally = memberTally(true);
    yamlMemberAddresses(raw.members ?? [], l.source, ['members'], [], tally);
    if (raw.members_file)
      await readMembersFile(
        resolve(dirname(l.source.path), raw.members_file),
        l.source,
        [],
        [],
        tally,
      );
    expect(tally.count, `${l.name}: the count malist check prints`).toBe(l.memberCount);
    if (l.settings.members.length > 0) expect(l.settings.members).toEqual(tally.addresses);
    members[l.name] = tally.addresses;
  }
  return { lines: shown(config.problems), warnings: shown(config.warnings), members, dir };
}

describe('configuration errors name file:line:col, key, expected and fix', () => {
  it('bad YAML syntax', async () => {
    const { lines } = await problems({
      'lists/red.yaml':
        'address: red@list.example.com\nmembers:\n  - a@example.com\n - b@example.com\n',
    });
    expect(lines).toEqual([
      'lists/red.yaml:4:1 YAML syntax: A block sequence may not be used as an implicit map key (fix: check the indentation against the lines above: items of one list start in the same column)',
    ]);
    const quote = await problems({ 'malist.yaml': 'state_dir: "state\ndistribute: maildir\n' });
    expect(quote.lines).toEqual([
      expect.stringMatching(
        /^malist\.yaml:3:1 YAML syntax: Missing closing "quote \(fix: close the quote/,
      ),
    ]);
  });

  it('a key written twice is a syntax error, not a silent override', async () => {
    const { lines } = await problems({
      'lists/red.yaml': 'address: red@list.example.com\nposting: open\nposting: members\n',
    });
    expect(lines).toEqual([
      expect.stringMatching(
        /^lists\/red\.yaml:3:1 YAML syntax: Map keys must be unique \(fix: remove one of the two entries/,
      ),
    ]);
  });

  it('unknown key, with the nearest known key as the fix', async () => {
    const { lines } = await problems({
      'lists/red.yaml':
        'address: red@list.example.com\nmembers: [a@example.com]\nsubject_prefx: "[Red] "\n',
    });
    expect(lines).toEqual([
      "lists/red.yaml:3:1 subject_prefx: unknown key (fix: did you mean 'subject_prefix'?)",
    ]);
  });

  it('unknown key in malist.yaml and inside a unit mapping', async () => {
    const { lines } = await problems({
      'malist.yaml': 'state_dir: state\ndistribute:\n  type: maildir\n  dri: out\nreactor: []\n',
    });
    expect(lines).toEqual(["malist.yaml:5:1 reactor: unknown key (fix: did you mean 'reactors'?)"]);
    const nested = await problems({
      'malist.yaml': 'state_dir: state\ndistribute:\n  type: maildir\n  dri: out\n',
    });
    expect(nested.lines).toEqual([
      'malist.yaml:3:3 distribute.dir: maildir: missing; expected a string (fix: add dir: to this mapping)',
      "malist.yaml:4:3 distribute.dri: maildir: unknown key (fix: did you mean 'dir'?)",
    ]);
  });

  it('wrong value: enum with a did-you-mean, wrong type, an unquoted [prefix]', async () => {
    const { lines } = await problems({
      'lists/red.yaml':
        'address: red@list.example.com\nmembers: [a@example.com]\nposting: member\nmax_message_size: big\nsubject_prefix: [Red]\n',
    });
    expect(lines).toEqual([
      "lists/red.yaml:3:10 posting: expected one of open | members | moderated | announce, got 'member' (fix: did you mean 'members'?)",
      "lists/red.yaml:4:19 max_message_size: expected a number, got 'big' (fix: write a number without quotes, e.g. max_message_size: 1000)",
      'lists/red.yaml:5:17 subject_prefix: expected a string, got a list (fix: quote the value: YAML reads [..] as a list and {..} as a mapping, e.g. "[Red] ")',
    ]);
  });

  it('archive and quarantine options are checked like every other unit’s', async () => {
    const { lines } = await problems({
      'malist.yaml':
        'state_dir: state\ndistribute:\n  - type: archive\n    dir: archive\n    format: mbx\nreactors:\n  - type: quarantine\n    signal: [reject]\n',
    });
    expect(lines).toEqual([
      "malist.yaml:5:13 distribute.0.format: archive: expected one of mbox | maildir | both, got 'mbx' (fix: did you mean 'mbox'?)",
      "malist.yaml:8:5 reactors.0.signal: quarantine: unknown key (fix: did you mean 'signals'?)",
    ]);
  });

  it('VERP is a list setting: verp under smtp is refused with where it goes; lists may turn it off', async () => {
    const { lines } = await problems({
      'malist.yaml':
        'state_dir: state\ndistribute:\n  type: queue\n  dir: spool\n  smtp: { host: 127.0.0.1, verp: true }\n',
      'lists/red.yaml': 'address: red@list.example.com\nverp: false\nverp_delimiter: "-"\n',
    });
    expect(lines).toEqual([
      'malist.yaml:5:28 distribute.smtp.verp: queue: unknown key (fix: VERP is a list setting (on by default, with a cookie): write verp: false in lists/NAME.yaml or under defaults: to batch; remove it here)',
    ]);
  });

  it('a missing required key points at the mapping that lacks it', async () => {
    const { lines } = await problems({ 'lists/red.yaml': 'display_name: Red\nmembers: []\n' });
    expect(lines).toEqual([
      'lists/red.yaml:1:1 address: missing; expected a string (fix: add address: to this mapping)',
    ]);
  });

  it('a bad member entry is a warning naming the entry; the list keeps its other members', async () => {
    const { lines, warnings, members } = await problems({
      'lists/red.yaml':
        'address: red@list.example.com\nmembers:\n  - a@example.com\n  - bob at example.com\n  - \'"ab"@attacker.example\'\n  - Carol <c#d@example.com>\n',
    });
    expect(lines).toEqual([]);
    expect(warnings).toEqual([
      `lists/red.yaml:4:5 members.1: not a member, skipped: "bob at example.com" it contains blanks or line breaks (fix: subscribe a plain address (name@example.com) or "Name <name@example.com>"; quotes, #, (, ), @ and blanks are not allowed in the part before the @)`,
      expect.stringMatching(
        /^lists\/red\.yaml:5:5 members\.2: not a member, skipped: "\\"ab\\"@attacker\.example" its local part contains/,
      ),
      expect.stringMatching(
        /^lists\/red\.yaml:6:5 members\.3: not a member, skipped: "c#d@example\.com" its local part contains "#"/,
      ),
    ]);
    expect(members.red).toEqual(['a@example.com']);
  });

  it('missing members file', async () => {
    const { lines } = await problems({
      'lists/red.yaml': 'address: red@list.example.com\nmembers_file: red.members\n',
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^lists\/red\.yaml:2:15 members_file: cannot read the members file .*lists\/red\.members: ENOENT \(fix: create it with one address a line/,
    );
  });

  it('a members file line that is not a member is a warning naming that line', async () => {
    const { lines, warnings, members } = await problems({
      'lists/red.yaml': 'address: red@list.example.com\nmembers_file: red.members\n',
      'lists/red.members':
        '# members\na@example.com digest\nd@example.com nomail=bounce # away\nb@example.com, c@example.com\ne@example.com digets\nvictim@example.org#@attacker.example\n',
    });
    expect(lines).toEqual([]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(
      /^lists\/red\.members:4:1 not a member line, skipped: 'b@example\.com, c@example\.com' is not an address \(fix: one address \(or Name <address>\) a line, optionally followed by digest .*nomail.* or nomail=user\|bounce\|admin/,
    );
    expect(warnings[1]).toMatch(
      /^lists\/red\.members:5:1 unknown option 'digets' ignored: e@example\.com stays a member without it/,
    );
    // What a members file means after '#' is a comment, and a misspelt option ignored: the
    // store reads the same.
    expect(members.red).toEqual([
      'a@example.com',
      'd@example.com',
      'e@example.com',
      'victim@example.org',
    ]);
  });

  it('a header rule with a bad pattern names its file:line; site rules come first', async () => {
    const { lines } = await problems({
      'lists/red.yaml':
        'address: red@list.example.com\nheader_matches:\n  - header: X-Spam-Flag\n    pattern: "(yes"\n    action: hold\n',
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^lists\/red\.yaml:4:14 header_matches\.0\.pattern: not a valid pattern \(.*missing.*\); patterns are RE2 regular expressions/,
    );
    const site = await problems({
      'malist.yaml': `${MAIN}header_matches:\n  - { header: X-Spam-Flag, pattern: "[", action: discard }\n`,
    });
    expect(site.lines[0]).toMatch(
      /^malist\.yaml:6:\d+ header_matches\.0\.pattern: not a valid pattern/,
    );
    const dir = await mkdtemp(join(tmpdir(), 'malist-config-'));
    await mkdir(join(dir, 'lists'));
    await writeFile(
      join(dir, 'malist.yaml'),
      `${MAIN}header_matches:\n  - { header: X-Spam-Flag, pattern: "^yes", action: discard }\n`,
    );
    await writeFile(
      join(dir, 'lists', 'red.yaml'),
      'address: red@list.example.com\nheader_matches:\n  - { header: Subject, pattern: sale, action: hold }\n',
    );
    await writeFile(join(dir, 'lists', 'blue.yaml'), 'address: blue@list.example.com\n');
    const config = await loadConfig({ dir, env: {} });
    expect(config.problems).toEqual([]);
    const rules = Object.fromEntries(config.lists.map((l) => [l.name, l.settings.header_matches]));
    expect(rules.red).toEqual([
      { header: 'X-Spam-Flag', pattern: '^yes', action: 'discard', site: true },
      { header: 'Subject', pattern: 'sale', action: 'hold' },
    ]);
    expect(rules.blue).toEqual([
      { header: 'X-Spam-Flag', pattern: '^yes', action: 'discard', site: true },
    ]);
  });

  it('literal password refused, with how to fix it', async () => {
    const { lines } = await problems({
      'malist.yaml': `${MAIN}servers:\n  mailbox:\n    host: pop.example.com\n    user: lists\n    password: hunter2\n`,
    });
    expect(lines).toEqual([
      'malist.yaml:9:5 servers.mailbox.password: a literal password in YAML is refused (config files get copied, committed and mailed) (fix: put it in the environment and write password_env: MALIST_MAILBOX_PASSWORD, or in a file only malist can read and write password_file: /etc/malist/malist_mailbox_password)',
    ]);
    expect(lines.join('\n')).not.toContain('hunter2');
  });

  it('password_env that is not set; password_file that cannot be read', async () => {
    const { lines } = await problems({
      'malist.yaml': `${MAIN}fetch:\n  - type: pop3\n    host: pop.example.com\n    user: lists\n    password_env: MALIST_POP3_PASSWORD\n  - type: pop3\n    host: pop.example.com\n    user: other\n    password_file: nope.secret\n`,
    });
    expect(lines[0]).toBe(
      'malist.yaml:9:19 fetch.0.password_env: environment variable MALIST_POP3_PASSWORD is not set (fix: export MALIST_POP3_PASSWORD where malist runs (for cron: in the crontab or a wrapper script), or use password_file:)',
    );
    expect(lines[1]).toMatch(
      /^malist\.yaml:13:20 fetch\.1\.password_file: cannot read .*nope\.secret: ENOENT/,
    );
  });

  it('secrets resolve from the environment and files into the unit options, never into messages', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-config-'));
    await mkdir(join(dir, 'lists'));
    await writeFile(join(dir, 'smtp.secret'), 's3cret-from-file\n');
    await writeFile(
      join(dir, 'malist.yaml'),
      'state_dir: state\nservers:\n  out:\n    host: smtp.example.com\n    user: lists\n    password_file: smtp.secret\nfetch:\n  - type: pop3\n    host: pop.example.com\n    user: lists\n    password_env: POP_PW\ndistribute:\n  type: queue\n  server: out\nqueue:\n  dir: spool\n',
    );
    const config = await loadConfig({ dir, env: { POP_PW: 'from-env' } });
    const plans = await planAll(config);
    expect(config.problems).toEqual([]);
    expect(plans.fetchers[0]!.options).toMatchObject({ user: 'lists', password: 'from-env' });
    expect(plans.distributors[0]!.options).toMatchObject({
      dir: join(dir, 'spool'),
      smtp: { host: 'smtp.example.com', auth: { user: 'lists', pass: 's3cret-from-file' } },
    });
  });

  it('duplicate list addresses across files (compared in normal form)', async () => {
    const { lines } = await problems({
      'lists/red.yaml': 'address: red@list.example.com\n',
      'lists/scarlet.yaml': '# the same list by another name\naddress: RED@List.Example.com\n',
    });
    expect(lines).toEqual([
      'lists/scarlet.yaml:2:10 address: duplicate list address RED@List.Example.com: lists/red.yaml:1 already uses it (fix: give every list its own address, or remove one of the two files)',
    ]);
  });

  it('unknown unit type in a pipeline, with a did-you-mean', async () => {
    const { lines } = await problems({
      'lists/red.yaml':
        'address: red@list.example.com\npipeline:\n  - posting-policy\n  - subjet-prefix\n  - type: envelope\n    position: after-re\n',
    });
    expect(lines).toEqual([
      expect.stringMatching(
        /^lists\/red\.yaml:4:5 pipeline\.1: unknown pipeline unit type 'subjet-prefix'; expected one of .*subject-prefix.* \(fix: did you mean 'subject-prefix'\?\)$/,
      ),
      'lists/red.yaml:6:5 pipeline.2.position: envelope: unknown key (fix: remove it; known keys here: (none))',
    ]);
  });

  it('an unknown key in a unit whose schema transforms its options still lists the known keys', async () => {
    const { lines } = await problems(
      {
        'malist.yaml': `${MAIN}fetch:\n  - type: pop3\n    host: pop.example.com\n    user: lists\n    password_env: PW\n    folder: INBOX\n`,
      },
      { PW: 'x' },
    );
    expect(lines).toEqual([
      'malist.yaml:10:5 fetch.0.folder: pop3: unknown key (fix: remove it; known keys here: host, port, tls, ca_file, servername, reject_unauthorized, user, password_env, password_file, state_dir, max_mail_size, tmp_dir, timeout_ms)',
    ]);
  });

  it('concurrency: a whole number of mails from 1 to 64', async () => {
    expect((await problems({ 'malist.yaml': `${MAIN}concurrency: 8\n` })).lines).toEqual([]);
    const { lines } = await problems({ 'malist.yaml': `${MAIN}concurrency: 0\n` });
    expect(lines).toEqual([expect.stringMatching(/^malist\.yaml:5:14 concurrency: .*at least 1/)]);
    const half = await problems({ 'malist.yaml': `${MAIN}concurrency: 2.5\n` });
    expect(half.lines).toEqual([
      expect.stringMatching(/^malist\.yaml:5:14 concurrency: .*whole number/),
    ]);
  });

  it('a server: reference that does not exist', async () => {
    const { lines } = await problems({
      'malist.yaml': `${MAIN}fetch:\n  - type: pop3\n    server: mailbox\n`,
    });
    expect(lines).toEqual([
      'malist.yaml:7:13 fetch.0.server: no server named "mailbox" under servers: (fix: add it to servers: or use one of (none defined))',
    ]);
  });

  it('a list file name that cannot name a list', async () => {
    const { lines } = await problems({ 'lists/-red.yaml': 'address: red@list.example.com\n' });
    expect(lines[0]).toMatch(/^lists\/-red\.yaml '-red' cannot name a list/);
  });

  it('defaults apply to every list; a list overrides them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-config-'));
    await mkdir(join(dir, 'lists'));
    await writeFile(
      join(dir, 'malist.yaml'),
      `${MAIN}defaults:\n  posting: moderated\n  deliver_to: [archive@example.com]\n  pipeline: [posting-policy, envelope]\n`,
    );
    await writeFile(join(dir, 'lists/a.yaml'), 'address: a@list.example.com\n');
    await writeFile(join(dir, 'lists/b.yaml'), 'address: b@list.example.com\nposting: open\n');
    const config = await loadConfig({ dir });
    const plans = await planAll(config);
    expect(config.problems).toEqual([]);
    expect(config.lists.map((l) => [l.name, l.settings.posting, l.deliver_to])).toEqual([
      ['a', 'moderated', ['archive@example.com']],
      ['b', 'open', ['archive@example.com']],
    ]);
    expect(plans.lists[0]!.units.map((u) => u.type)).toEqual(['posting-policy', 'envelope']);
  });
});

describe('custom units from a package', () => {
  it('loads an installed package named as type:, and its schema checks the options', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-config-'));
    await mkdir(join(dir, 'lists'));
    await mkdir(join(dir, 'node_modules/malist-reactor-count'), { recursive: true });
    await writeFile(
      join(dir, 'node_modules/malist-reactor-count/package.json'),
      '{ "name": "malist-reactor-count", "type": "module", "main": "index.js" }\n',
    );
    await writeFile(
      join(dir, 'node_modules/malist-reactor-count/index.js'),
      'export const schema = { safeParse: (o) => (typeof o.label === "string" ? { success: true, data: o } : { success: false }) };\n' +
        'export default function (options) { return { name: "count:" + options.label, react() {} }; }\n',
    );
    await writeFile(
      join(dir, 'malist.yaml'),
      `${MAIN}reactors:\n  - type: malist-reactor-count\n    label: ops\n  - type: malist-reactor-count\n`,
    );
    const config = await loadConfig({ dir });
    const plans = await planAll(config);
    expect(config.problems.map((p) => formatProblem(p).replace(`${dir}/`, ''))).toEqual([
      'malist.yaml:8:5 reactors.1: malist-reactor-count: invalid options (fix: see the options documented in malist-reactor-count)',
    ]);
    expect(plans.reactors.map((p) => p.options)).toEqual([{ label: 'ops' }]);
    const reactor = (plans.reactors[0]!.factory as (o: unknown) => { name: string })(
      plans.reactors[0]!.options,
    );
    expect(reactor.name).toBe('count:ops');
  });
});

describe('member_store', () => {
  it('`member_store: yaml` reads the list file’s own members at each post; a typo is named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-config-'));
    await mkdir(join(dir, 'lists'));
    await writeFile(join(dir, 'malist.yaml'), MAIN);
    await writeFile(
      join(dir, 'lists/red.yaml'),
      'address: red@list.example.com\nmember_store: yaml\nmembers:\n  - alice@example.org\n  - { address: bob@example.net, nomail: true }\n',
    );
    await writeFile(
      join(dir, 'lists/blue.yaml'),
      'address: blue@list.example.com\nmember_store: { type: yml, file: blue.members.yaml }\n',
    );
    const config = await loadConfig({ dir });
    const plans = await planAll(config);
    expect(config.problems.map((p) => formatProblem(p).replaceAll(`${dir}/`, ''))).toEqual([
      expect.stringMatching(
        /^lists\/blue\.yaml:2:23 member_store\.type: unknown member store type 'yml'; expected one of yaml \| .*memory.* \(fix: did you mean 'yaml'\?\)$/,
      ),
    ]);
    const red = plans.lists.find((l) => l.list.name === 'red')!;
    expect(red.memberStore?.options).toEqual({ file: join(dir, 'lists/red.yaml') });
    const store = (
      red.memberStore!.factory as (o: unknown) => { list(): Promise<{ address: string }[]> }
    )(red.memberStore!.options);
    expect((await store.list()).map((m) => m.address)).toEqual([
      'alice@example.org',
      'bob@example.net',
    ]);

    // The built list's envelope reads the store: bob takes no mail.
    const mail = createListMail(
      Buffer.from(
        'From: alice@example.org\r\nTo: red@list.example.com\r\nSubject: hi\r\nMessage-ID: <x@y>\r\n\r\nhi\r\n',
      ),
      { fetcher: 'test', id: '1' },
    );
    const out = await buildList(red).process(mail);
    expect(out.ml_send_to).toEqual(['alice@example.org']);
  });
});

describe('members are read where they are written', () => {
  it('the loader keeps static members only where no store reads them; it counts every one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-config-'));
    await mkdir(join(dir, 'lists'));
    await writeFile(join(dir, 'malist.yaml'), MAIN);
    await writeFile(join(dir, 'lists/red.members'), 'a@example.org\nb@example.org\n');
    await writeFile(
      join(dir, 'lists/red.yaml'),
      'address: red@list.example.com\nmembers_file: red.members\n',
    );
    await writeFile(
      join(dir, 'lists/both.yaml'),
      'address: both@list.example.com\nmembers: [c@example.org]\nmembers_file: red.members\n',
    );
    const config = await loadConfig({ dir });
    expect(config.problems).toEqual([]);
    const byName = Object.fromEntries(config.lists.map((l) => [l.name, l]));
    expect(byName.red!.settings.members).toEqual([]);
    expect(byName.red!.memberCount).toBe(2);
    expect(byName.both!.settings.members).toEqual([
      'c@example.org',
      'a@example.org',
      'b@example.org',
    ]);
    expect(byName.both!.memberCount).toBe(3);
    expect((await loadConfig({ dir, lists: false })).lists).toEqual([]);
  });

  it('a text members_file with per-member options: nomail members get no copy but may post', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-config-'));
    await mkdir(join(dir, 'lists'));
    await writeFile(join(dir, 'malist.yaml'), MAIN);
    await writeFile(
      join(dir, 'lists/red.yaml'),
      'address: red@list.example.com\nmembers_file: red.members\npipeline: [posting-policy, envelope]\n',
    );
    await writeFile(
      join(dir, 'lists/red.members'),
      'alice@example.org\nbob@example.net nomail   # on holiday\n',
    );
    const config = await loadConfig({ dir });
    const plans = await planAll(config);
    expect(config.problems).toEqual([]);
    expect(plans.lists[0]!.memberStore?.type).toBe('text-file');
    const mail = createListMail(
      Buffer.from(
        'From: bob@example.net\r\nTo: red@list.example.com\r\nSubject: hi\r\nMessage-ID: <y@z>\r\n\r\nhi\r\n',
      ),
      { fetcher: 'test', id: '1' },
    );
    const out = await buildList(plans.lists[0]!).process(mail);
    expect(out.ml_send_to).toEqual(['alice@example.org']);
  });
});
