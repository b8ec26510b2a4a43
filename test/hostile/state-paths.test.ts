/**
 * List names and paths from the command line, config or mail cannot reach outside the
 * state directory: `--list ../../x` is an unknown list; a list file whose name is dots
 * keeps its held posts inside state/held/; nothing is written beside the config dir.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listPost, malist, writeConfig } from '../helpers/crash-config.ts';

let outer: string;
let dir: string;
beforeAll(async () => {
  outer = await mkdtemp(join(tmpdir(), 'malist-paths-'));
  dir = join(outer, 'config');
  await writeConfig({ smtpPort: 9 }, dir);
});
afterAll(() => rm(outer, { recursive: true, force: true }));

it('--list with a path is an unknown list (67), and nothing is written', async () => {
  for (const name of ['../../escape', '/etc/passwd', '..', 'red/../../x']) {
    const ran = await malist(['receive', '--config', dir, '--list', name], {
      input: listPost({ id: `p@paths.test` }),
    });
    expect(ran.code, ran.stderr).toBe(67);
  }
  expect(await readdir(outer)).toEqual(['config']);
});

it('a list whose file name is dots keeps its state inside the state directory', async () => {
  await writeFile(
    join(dir, 'lists', '...yaml'),
    'address: dots@list.example.com\nposting: members\nmembers: [alice@example.org]\n',
  );
  const ran = await malist(['receive', '--config', dir, '--list', '..'], {
    input: listPost({ id: 'q@paths.test', from: 'mallory@elsewhere.example' }),
  });
  // Refused as a configuration error or handled: either way nothing escapes.
  expect([0, 67, 78]).toContain(ran.code);
  expect(await readdir(outer)).toEqual(['config']);
  expect((await readdir(dir)).sort()).toEqual(
    expect.arrayContaining(['inbox', 'lists', 'malist.yaml']),
  );
  for (const entry of await readdir(dir)) {
    expect([
      'inbox',
      'lists',
      'malist.yaml',
      'state',
      'spool',
      'events.jsonl',
      'delivery.log',
    ]).toContain(entry);
  }
});
