/**
 * The check cache (src/config/check-cache.ts) as `malist receive` uses it: a configuration
 * loaded from the kept files is the configuration loaded from the files, unit by unit and
 * member by member; a load it answers parses no YAML and builds no schema; an edited file
 * is read again; a file with a problem is reported as without the cache.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Plan, Plans } from '../../src/config/build.ts';
import { openCheckCache } from '../../src/config/check-cache.ts';
import type { LoadedConfig } from '../../src/config/load.ts';
import { openConfig } from '../../src/config/open.ts';
import { formatProblem } from '../../src/config/problem.ts';
import { buildRuntime } from '../../src/config/runtime.ts';
import { openMemberStore } from '../../src/members/index.ts';

const made: string[] = [];
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

/** A site with a bit of everything the loader reads: servers, defaults, pipelines, members three ways. */
const FILES: Record<string, string> = {
  'malist.yaml': `# the site
state_dir: state
distribute:
  type: queue
  server: out
servers:
  out:
    host: 127.0.0.1
    port: 2525
    starttls: never # the old spelling: a deprecation, found when asked
queue:
  dir: spool
  expire_after_seconds: 86400
reactors: [stderr-logger]
header_matches:
  - { header: X-Spam-Flag, pattern: "^YES", action: discard }
defaults:
  posting: moderated
  unit_options:
    footer:
      text: "-- \\nsite footer"
`,
  'lists/red.yaml': `address: red@list.example.com
posting: members
display_name: Red
members:
  - a@example.com
  - "Bee Example <b@example.com>"
  - { address: c@example.com, name: Cee, digest: true, nomail: true }
  - not an address
  - 42
  -
pipeline:
  - sanity
  - loop-guard
  - { type: subject-prefix, position: after-re }
  - posting-policy
  - footer
  - list-headers
`,
  'lists/blue.yaml': `address: blue@list.example.com
members_file: blue.members
deliver_to: [archive@example.com]
`,
  'lists/blue.members': 'd@example.com\nE <e@example.com> digest\n# a comment\nnot-an-address\n',
  'lists/green.yaml': `address: green@list.example.com
members_file: ../green-members.yaml
subject_prefix: "[green] "
`,
  'green-members.yaml': '- f@example.com\n- { address: g@example.com, notmetoo: true }\n',
  'lists/anchored.yaml': `address: &a anchored@list.example.com
members:
  - &h h@example.com
  - *h
  - i@example.com
acceptable_aliases: [*a]
`,
};

async function site(files: Record<string, string> = FILES): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'malist-check-cache-site-'));
  made.push(dir);
  await mkdir(join(dir, 'lists'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

/** What a plan is, without its factory: its type, options and where it was written. */
function planView(plan: Plan | undefined): unknown {
  if (!plan) return undefined;
  const { plain: _p, ...options } = plan.options as Record<string, unknown>;
  return { type: plan.type, options, where: plan.where(), children: plan.children?.map(planView) };
}

/** Everything the loader and the planner said, as plain data. */
function view(config: LoadedConfig, plans: Plans): unknown {
  const problem = (p: { file: string; line: number; col: number; key: string; message: string }) =>
    formatProblem({ ...p, line: p.line, col: p.col });
  return {
    main: config.main,
    problems: config.problems.map(problem),
    warnings: config.warnings.map(problem),
    deprecated: config.deprecated.map(problem),
    lists: config.lists.map((l) => ({
      name: l.name,
      settings: l.settings,
      pipeline: l.pipeline,
      deliver_to: l.deliver_to,
      memberCount: l.memberCount,
      membersFrom: l.membersFrom,
    })),
    plans: {
      fetchers: plans.fetchers.map(planView),
      distributors: plans.distributors.map(planView),
      reactors: plans.reactors.map(planView),
      lists: plans.lists.map((l) => ({
        name: l.list.name,
        units: l.units.map(planView),
        memberStore: planView(l.memberStore),
      })),
    },
  };
}

describe('the check cache', () => {
  it('loads the configuration it loads without it: every setting, unit, member and message', async () => {
    const dir = await site();
    const cacheDir = join(dir, 'cache');
    const plain = await openConfig({ dir, env: {} });
    expect(plain.config.problems).toEqual([]);
    expect(plain.config.warnings.length).toBeGreaterThan(0); // the junk members
    expect(plain.config.deprecated.length).toBeGreaterThan(0); // starttls: never
    const expected = view(plain.config, plain.plans);
    // The first load fills the cache; the second is answered from it.
    for (const round of ['filled', 'answered']) {
      const cache = openCheckCache('test-build', cacheDir);
      const opened = await openConfig({ dir, env: {}, cache });
      expect(view(opened.config, opened.plans), round).toEqual(expected);
    }
    // The members a post reads, through the list's own store and its members files.
    const cached = await openConfig({
      dir,
      env: {},
      cache: openCheckCache('test-build', cacheDir),
    });
    const a = await buildRuntime(plain.config, plain.plans);
    const b = await buildRuntime(cached.config, cached.plans);
    try {
      for (const name of ['red', 'blue', 'green', 'anchored']) {
        // What a store reads from the file itself, parsing its document.
        const raw = plain.config.lists.find((l) => l.name === name)!.source.value as {
          members_file?: string;
        };
        const file = raw.members_file && join(dir, 'lists', raw.members_file);
        const want = await openMemberStore(join(dir, 'lists', `${name}.yaml`), file).list();
        expect(want.length, name).toBeGreaterThan(0);
        expect(await a.memberStore(name)!.list(), name).toEqual(want);
        expect(await b.memberStore(name)!.list(), name).toEqual(want);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('answers a load without parsing YAML or building a schema, and reads the members from the kept value', async () => {
    const dir = await site();
    const cacheDir = join(dir, 'cache');
    await openConfig({ dir, env: {}, cache: openCheckCache('test-build', cacheDir) });
    // The members in the list's own file (red) and in a YAML members file (green).
    const lists: Record<string, string[]> = {
      red: ['a@example.com', 'b@example.com', 'c@example.com'],
      green: ['f@example.com', 'g@example.com'],
    };
    for (const [name, addresses] of Object.entries(lists)) {
      // A process of its own, as a receive is: fresh modules, nothing built or loaded yet.
      vi.resetModules();
      const open = await import('../../src/config/open.ts');
      const runtime = await import('../../src/config/runtime.ts');
      const cacheModule = await import('../../src/config/check-cache.ts');
      const lazy = await import('../../src/mail/deferred-option.ts');
      const yaml = await import('../../src/members/yaml-package.ts');
      const opened = await open.openConfig({
        dir,
        env: {},
        cache: cacheModule.openCheckCache('test-build', cacheDir),
        only: { name },
      });
      expect(opened.config.problems).toEqual([]);
      const built = await runtime.buildRuntime(opened.config, opened.plans);
      try {
        const members = await built.memberStore(name)!.list();
        expect(
          members.map((m) => m.address),
          name,
        ).toEqual(addresses);
        if (name === 'red')
          expect(members[2]).toMatchObject({ name: 'Cee', digest: true, nomail: true });
      } finally {
        await built.close();
      }
      expect(yaml.yamlLoaded(), name).toBe(false);
      expect(lazy.lazySchemasBuilt(), name).toBe(0);
      expect(lazy.deferredBuilt(), name).toBe(0);
      // A message's line is still there when asked: the text is parsed then.
      expect(opened.config.deprecated.map((d) => `${d.line}:${d.col} ${d.key}`)).toEqual([
        '10:5 servers.out.starttls',
      ]);
      expect(yaml.yamlLoaded()).toBe(true);
    }
  });

  it('reads an edited file again, and reports a file with a problem as the loader does', async () => {
    const dir = await site();
    const cacheDir = join(dir, 'cache');
    const load = () =>
      openConfig({
        dir,
        env: {},
        cache: openCheckCache('test-build', cacheDir),
        only: { name: 'green' },
      });
    expect((await load()).config.lists[0]!.settings.subject_prefix).toBe('[green] ');
    await writeFile(
      join(dir, 'lists/green.yaml'),
      FILES['lists/green.yaml']!.replace('[green] ', '[GREEN] '),
    );
    expect((await load()).config.lists[0]!.settings.subject_prefix).toBe('[GREEN] ');
    const broken = `${FILES['lists/green.yaml']}posting: opne\n`;
    await writeFile(join(dir, 'lists/green.yaml'), broken);
    const without = await openConfig({ dir, env: {}, only: { name: 'green' } });
    const first = await load();
    const second = await load();
    const shown = (c: LoadedConfig) => c.problems.map((p) => formatProblem(p));
    expect(shown(without.config).length).toBeGreaterThan(0);
    expect(shown(first.config)).toEqual(shown(without.config));
    expect(shown(second.config)).toEqual(shown(without.config));
    // A YAML syntax error, the same.
    await writeFile(join(dir, 'lists/green.yaml'), 'address: [green@list.example.com\n');
    const syntax = shown((await openConfig({ dir, env: {}, only: { name: 'green' } })).config);
    expect(syntax[0]).toMatch(/YAML syntax/);
    expect(shown((await load()).config)).toEqual(syntax);
    expect(shown((await load()).config)).toEqual(syntax);
  });

  it('never writes a password, and a changed one is the new one', async () => {
    const files = {
      ...FILES,
      'malist.yaml': FILES['malist.yaml']!.replace(
        '    starttls: never',
        '    tls: none\n    user: list\n    password_env: SMTP_PASS',
      ),
    };
    const dir = await site(files);
    const cacheDir = join(dir, 'cache');
    const queueAuth = async (env: NodeJS.ProcessEnv) => {
      const { plans } = await openConfig({
        dir,
        env,
        cache: openCheckCache('test-build', cacheDir),
        only: { name: 'red' },
      });
      const queue = plans.distributors[0]!.options as { smtp?: { auth?: { pass?: string } } };
      return queue.smtp?.auth?.pass;
    };
    expect(await queueAuth({ SMTP_PASS: 'first-Secret-1' })).toBe('first-Secret-1');
    const { readdir, readFile } = await import('node:fs/promises');
    const kept = (await readdir(cacheDir)).length;
    expect(await queueAuth({ SMTP_PASS: 'first-Secret-1' })).toBe('first-Secret-1');
    expect((await readdir(cacheDir)).length).toBe(kept); // answered from the cache
    expect(await queueAuth({ SMTP_PASS: 'second-Secret-2' })).toBe('second-Secret-2');
    for (const name of await readdir(cacheDir)) {
      const text = await readFile(join(cacheDir, name), 'utf8');
      expect(text).not.toMatch(/Secret-/);
    }
  });
});
