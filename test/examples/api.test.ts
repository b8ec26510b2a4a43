/**
 * The TypeScript examples: the API script runs `play()` end to end; the custom processor
 * unit is loaded by path from a list's pipeline, its options checked by its own schema;
 * the production malist.yaml validates.
 */
import { cp, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planAll } from '../../src/config/build.ts';
import { loadConfig } from '../../src/config/load.ts';
import { formatProblem } from '../../src/config/problem.ts';
import { malist, post, ROOT, runCommand, tempConfig } from '../cli/run-malist.ts';

describe('examples/api.ts', () => {
  it('distributes member posts, holds the non-member one, and skips all on a second run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-api-'));
    const fill = async () => {
      await mkdir(join(dir, 'in/new'), { recursive: true });
      for (const name of ['01-member-post.eml', '02-reply.eml', '03-non-member.eml'])
        await cp(post(name), join(dir, 'in/new', name));
    };
    // The example imports 'malist': the sources here, not a build that may be older.
    const args = [
      '--conditions=malist-source',
      '--import',
      'tsx',
      join(ROOT, 'examples/api.ts'),
      join(dir, 'in'),
      join(dir, 'out'),
      join(dir, 'state'),
    ];
    await fill();
    const first = await runCommand(process.execPath, args);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(
      'red: distributed\nred: distributed\nred: held\nfetched 3, distributed 2 to 6 recipients, held 1, skipped 0\n',
    );
    await fill();
    const second = await runCommand(process.execPath, args);
    expect(second.stdout).toContain('fetched 3, distributed 0 to 0 recipients, held 0, skipped 3');
    expect(await readdir(join(dir, 'out/alice@example.org/new'))).toHaveLength(2);
  });
});

describe('examples/units/add-header.ts (a custom processor)', () => {
  const pipeline = (options: string) =>
    `address: red@list.example.com\nmembers: [alice@example.org]\npipeline:\n  - posting-policy\n  - type: ../units/add-header.ts\n${options}  - envelope\n`;

  it('is loaded by path from a list pipeline and runs in it', async () => {
    const dir = await tempConfig();
    // A path relative to the list file, as an operator writes it.
    const unit = relative(join(dir, 'lists'), join(ROOT, 'examples/units/add-header.ts'));
    await writeFile(
      join(dir, 'lists/red.yaml'),
      pipeline('    field: X-Team\n    value: "{list} team"\n').replace(
        '../units/add-header.ts',
        unit,
      ),
    );
    const r = await malist(['receive', '--config', dir, '--list', 'red'], {
      input: await readFile(post('01-member-post.eml')),
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const box = join(dir, 'out/alice@example.org/new');
    const copy = await readFile(join(box, (await readdir(box))[0]!), 'utf8');
    expect(copy).toContain('X-Team: red team\n');
  });

  it('has its options checked by its own schema, with file:line:col', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-custom-'));
    await mkdir(join(dir, 'lists'));
    await writeFile(
      join(dir, 'malist.yaml'),
      'state_dir: state\ndistribute: { type: maildir, dir: out }\n',
    );
    await writeFile(
      join(dir, 'lists/red.yaml'),
      pipeline('    field: X-Team\n    colour: red\n').replace(
        '../units/',
        `${ROOT}examples/units/`,
      ),
    );
    const config = await loadConfig({ dir });
    await planAll(config);
    expect(config.problems.map((p) => formatProblem(p).replaceAll(`${dir}/`, ''))).toEqual([
      'lists/red.yaml:5:5 pipeline.1.value: ' +
        `${ROOT}examples/units/add-header.ts: missing; expected a string (fix: add value: to this mapping)`,
      `lists/red.yaml:7:5 pipeline.1.colour: ${ROOT}examples/units/add-header.ts: unknown key (fix: remove it; known keys here: field, value)`,
    ]);
  });
});

describe('examples/malist.yaml', () => {
  /** The example installed as its comment says: /etc/malist/malist.yaml beside lists/ and secrets/. */
  async function installed(): Promise<string> {
    const etc = join(await mkdtemp(join(tmpdir(), 'malist-etc-')), 'malist');
    await mkdir(etc);
    await cp(join(ROOT, 'examples/malist.yaml'), join(etc, 'malist.yaml'));
    await cp(join(ROOT, 'examples/secrets'), join(etc, 'secrets'), { recursive: true });
    await cp(join(ROOT, 'lists'), join(etc, 'lists'), { recursive: true });
    return etc;
  }

  it('validates against the shipped lists, put in lists/ beside it, once its secret variable is set', async () => {
    const config = await loadConfig({
      dir: await installed(),
      env: { MALIST_POP3_PASSWORD: 'not-a-real-one' },
    });
    const plans = await planAll(config);
    expect(config.problems.map(formatProblem)).toEqual([]);
    expect(config.warnings.map(formatProblem)).toEqual([]);
    expect(plans.fetchers.map((p) => p.type)).toEqual(['pop3']);
    expect(plans.distributors.map((p) => p.type)).toEqual(['queue']);
    expect(plans.lists.map((l) => l.list.name)).toEqual(['announce', 'dev', 'red']);
  });

  it('without the variable, says which one is missing and where', async () => {
    const config = await loadConfig({ dir: await installed(), env: {} });
    await planAll(config);
    expect(config.problems.map(formatProblem)).toEqual([
      expect.stringMatching(
        /malist\/malist\.yaml:19:19 servers\.mailbox\.password_env: environment variable MALIST_POP3_PASSWORD is not set/,
      ),
    ]);
  });
});
