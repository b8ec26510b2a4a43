/**
 * `malist storage migrate` moves held posts, moderators' decisions and confirmation tokens
 * (src/cli/storage-migrate-held.ts), through the real CLI and a real PostgreSQL: two posts
 * held on files, one of them approved there by its mailed token; migrated (a dry run first,
 * which writes nothing; a second run, which copies nothing) the held one stays held with its
 * bytes and held time, its pending token approves it on PostgreSQL once, and the token used
 * before the switch is refused after it. Then back to files, counted, the same way.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { malist, post, tempConfig } from '../cli/run-malist.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';

const available = postgresAvailable();
const SECRET = '0123456789abcdef0123456789abcdef';
const FIRST = 'offer-88213@elsewhere.example';
const SECOND = 'offer-88214@elsewhere.example';

/** How many copies of the post `id` reached `rcpt`'s maildir. */
async function copiesOf(dir: string, rcpt: string, id: string): Promise<number> {
  const box = join(dir, 'var/out', rcpt, 'new');
  let n = 0;
  for (const f of await readdir(box).catch(() => [])) {
    const header = (await readFile(join(box, f), 'latin1')).split(/\r?\n\r?\n/, 1)[0] ?? '';
    if (header.includes(`Message-ID: <${id}>`)) n++;
  }
  return n;
}

/** The tokens of the moderators' notices carol got, oldest first. */
/**
 * The moderators' tokens mailed for the two held posts, the first post's first: each notice
 * is told apart by the post's subject it quotes (the notices' Date fields can share a second).
 */
async function tokensMailed(dir: string): Promise<string[]> {
  const box = join(dir, 'var/out/carol@example.org/new');
  const bySubject = new Map<string, string>();
  for (const f of await readdir(box)) {
    const text = await readFile(join(box, f), 'latin1');
    const token = /^Subject: confirm ([0-9a-f-]+)$/m.exec(text)?.[1];
    const quoted = /^ {4}Subject: (.*)$/m.exec(text)?.[1];
    if (token && quoted) bySubject.set(quoted.trim(), token);
  }
  const of = (subject: string) =>
    [...bySubject].find(([quoted]) => quoted.startsWith(subject))?.[1];
  return [of('Cheap '), of('Cheaper')].filter((t): t is string => t !== undefined);
}

describe.skipIf(!available)('malist storage migrate: held mail, decisions, tokens', () => {
  let pg: Postgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(() => pg?.stop());

  it('a held post stays held and decidable; a used token stays used, a pending one works once', async () => {
    const env = { DATABASE_URL: await pg.createDatabase('migrate_held'), MALIST_SECRET: SECRET };
    const base = 'state_dir: var/state\nfetch: []\ndistribute: { type: maildir, dir: var/out }\n';
    const onFiles = base;
    const onPostgres = `${base}storage:\n  type: postgres\n  url_env: DATABASE_URL\n`;
    const dir = await tempConfig(onFiles);
    const use = (text: string) => writeFile(join(dir, 'malist.yaml'), text);
    const cli = (args: string[], input?: Buffer | string) =>
      malist([...args, '--config', dir], { env, ...(input !== undefined ? { input } : {}) });
    const psql = (sql: string) => pg.psql(sql, 'migrate_held').trim();
    let replies = 0;
    const confirm = async (token: string) => {
      replies++;
      const mail = `From: carol@example.org\nTo: red-request@list.example.com\nSubject: Re: confirm ${token}\nMessage-ID: <confirm-${replies}@example.org>\nDate: Mon, 23 Nov 2026 12:00:0${replies % 10} +0000\n\nyes\n`;
      const ran = await cli(['receive', '--list', 'red-request@list.example.com'], mail);
      expect(ran.code, ran.stderr).toBe(0);
    };
    // Without the age, which the clock moves on.
    const heldList = async () =>
      (
        JSON.parse((await cli(['held', 'list', '--json'])).stdout) as {
          held: Array<Record<string, unknown>>;
        }
      ).held.map(({ age_seconds, ...rest }) => rest);

    // On files: two posts held, the second approved by its token.
    const first = await readFile(post('03-non-member.eml'));
    const second = Buffer.from(
      first
        .toString('latin1')
        .replace(`<${FIRST}>`, `<${SECOND}>`)
        .replace('Subject: Cheap', 'Subject: Cheaper'),
      'latin1',
    );
    expect((await cli(['receive', '--list', 'red'], first)).code).toBe(0);
    expect((await cli(['receive', '--list', 'red'], second)).code).toBe(0);
    const [tokenFirst, tokenSecond] = await tokensMailed(dir);
    expect(tokenSecond).toBeDefined();
    await confirm(tokenSecond!);
    expect(await copiesOf(dir, 'alice@example.org', SECOND)).toBe(1);
    const before = await heldList();
    expect(before).toHaveLength(1);
    const heldFile = (await readdir(join(dir, 'var/state/held/red'))).find((f) =>
      f.endsWith('.eml'),
    )!;
    const heldBytes = await readFile(join(dir, 'var/state/held/red', heldFile));

    // To PostgreSQL: the dry run counts and writes nothing.
    await use(onPostgres);
    expect((await cli(['storage', 'upgrade'])).code).toBe(0);
    const dry = await cli(['storage', 'migrate', '--to', 'postgres', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/held and decided posts of red: 2 to move .*2 to copy/);
    expect(dry.stdout).toMatch(/moderation decisions of red: 1 to move .*1 to copy/);
    expect(dry.stdout).toMatch(/confirmation tokens: 2 to move .*2 to copy/);
    for (const table of ['malist_held', 'malist_decisions', 'malist_tokens'])
      expect(psql(`SELECT count(*) FROM ${table}`)).toBe('0');

    const moved = await cli(['storage', 'migrate', '--to', 'postgres']);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(
      /held and decided posts of red: 2 at the source, 2 copied .* holds 2 of them \(checked\)/,
    );
    expect(moved.stdout).toMatch(
      /moderation decisions of red: 1 at the source, 1 copied .*\(checked\)/,
    );
    expect(moved.stdout).toMatch(/confirmation tokens: 2 at the source, 2 copied .*\(checked\)/);
    expect(psql("SELECT state FROM malist_held ORDER BY meta->>'subject'")).toBe('held\ndone');
    expect(psql("SELECT md5(raw) FROM malist_held WHERE state = 'held'")).toBe(
      createHash('md5').update(heldBytes).digest('hex'),
    );
    expect(psql('SELECT count(*) FROM malist_tokens WHERE used_at IS NOT NULL')).toBe('1');
    // Held as it was: the same post, the same held time.
    expect(await heldList()).toEqual(before);

    const again = await cli(['storage', 'migrate', '--to', 'postgres', '--json']);
    const parts = (JSON.parse(again.stdout) as { parts: Array<{ what: string }> }).parts;
    expect(parts.filter((p) => /^(held|decisions|tokens)/.test(p.what))).toEqual([
      {
        what: 'held:red',
        label: 'held and decided posts of red',
        source: 2,
        present: 2,
        copied: 0,
        target: 2,
      },
      {
        what: 'decisions:red',
        label: 'moderation decisions of red',
        source: 1,
        present: 1,
        copied: 0,
        target: 1,
      },
      { what: 'tokens', label: 'confirmation tokens', source: 2, present: 2, copied: 0, target: 2 },
    ]);

    // On PostgreSQL: the used token is refused, the pending one approves its post once.
    await confirm(tokenSecond!);
    await confirm(tokenFirst!);
    await confirm(tokenFirst!);
    expect(await copiesOf(dir, 'alice@example.org', SECOND)).toBe(1);
    expect(await copiesOf(dir, 'alice@example.org', FIRST)).toBe(1);
    expect(await heldList()).toEqual([]);
    expect(psql("SELECT string_agg(decision->>'action', ',') FROM malist_decisions")).toBe(
      'approve,approve',
    );

    // Back to files (the state directory's copies gone): everything comes back, counted.
    for (const part of ['held', 'moderation', 'tokens'])
      await rm(join(dir, 'var/state', part), { recursive: true, force: true });
    const back = await cli(['storage', 'migrate', '--to', 'files']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toMatch(
      /held and decided posts of red: 2 at the source, 2 copied to files.*\(checked\)/,
    );
    expect(back.stdout).toMatch(
      /moderation decisions of red: 2 at the source, 2 copied .*\(checked\)/,
    );
    expect(back.stdout).toMatch(/confirmation tokens: 2 at the source, 2 copied .*\(checked\)/);
    expect(
      (await readdir(join(dir, 'var/state/tokens/used'))).filter((f) => f.endsWith('.json')),
    ).toHaveLength(2);
    await use(onFiles);
    expect(await heldList()).toEqual([]);
    await confirm(tokenFirst!);
    expect(await copiesOf(dir, 'alice@example.org', FIRST)).toBe(1);
  }, 240_000);
});
