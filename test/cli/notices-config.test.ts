/**
 * The notices to posters and moderators are always on; naming notify-poster or
 * notify-moderators under `reactors:` in malist.yaml sets their options (they used to be
 * accepted and ignored), and a key they do not take is refused with file:line.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { malist, post, tempConfig } from './run-malist.ts';

const MAIN =
  'state_dir: state\ndistribute:\n  type: maildir\n  dir: out\nreactors:\n  - stderr-logger\n';

async function heldPost(mainYaml: string) {
  const dir = await tempConfig(mainYaml);
  const r = await malist(['receive', '--config', dir, '--list', 'red'], {
    input: await readFile(post('03-non-member.eml')),
  });
  expect(r.code).toBe(0);
  const box = async (who: string) =>
    readdir(join(dir, 'out', who, 'new')).catch(() => [] as string[]);
  return {
    poster: (await box('mallory@elsewhere.example')).length,
    moderator: (await box('carol@example.org')).length,
  };
}

describe('notify-poster and notify-moderators in malist.yaml', () => {
  it('by default a held post is told to its poster and to the moderator', async () => {
    expect(await heldPost(MAIN)).toEqual({ poster: 1, moderator: 1 });
  });

  it('notify-poster with held: false tells the moderator only', async () => {
    expect(await heldPost(`${MAIN}  - { type: notify-poster, held: false }\n`)).toEqual({
      poster: 0,
      moderator: 1,
    });
  });

  it('a key they do not take is refused, with the file and line', async () => {
    const dir = await tempConfig(`${MAIN}  - { type: notify-moderators, held: false }\n`);
    const r = await malist(['check', '--config', dir]);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(
      /malist\.yaml:7:\d+ reactors\.1\.held: notify-moderators: unknown key \(fix: remove it; known keys here: per_day, templates\)/,
    );
  });
});
