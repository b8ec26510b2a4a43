/** `emergency`: off by default; on, every post that is not pre-approved is held, members' too. */
import { appendFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { malist, post, tempConfig } from '../../test/cli/run-malist.ts';
import { fixtureMail, redList } from '../../test/posting/corpus.ts';
import createEmergency, { schema } from './emergency.ts';
import { buildUnit } from './units.ts';

async function kind(run: Promise<unknown>): Promise<string> {
  try {
    await run;
    return 'pass';
  } catch (error) {
    return (error as { kind?: string }).kind ?? 'error';
  }
}

describe('emergency', () => {
  it('passes everything while off (the default), holds every post while on', async () => {
    const list = redList();
    expect(await kind(createEmergency(list).process(fixtureMail('001')))).toBe('pass');
    expect(await kind(createEmergency(list, { on: false }).process(fixtureMail('001')))).toBe(
      'pass',
    );
    const held = createEmergency(list, { on: true }).process(fixtureMail('001'));
    await expect(held).rejects.toMatchObject({
      kind: 'hold',
      reason: expect.stringContaining('under emergency moderation'),
    });
    const rejected = createEmergency(list, { on: true, action: 'reject', reason: 'cooling off' });
    await expect(rejected.process(fixtureMail('001'))).rejects.toMatchObject({
      kind: 'reject',
      reason: 'cooling off',
    });
  });

  it('lets a pre-approved post through', async () => {
    const mail = fixtureMail('001');
    mail.ml_approved = 'moderator';
    expect(await kind(createEmergency(redList(), { on: true }).process(mail))).toBe('pass');
  });

  it('is in the registry, takes unit_options, and refuses options it does not know', () => {
    const unit = buildUnit(redList({ unit_options: { emergency: { on: true } } }), 'emergency');
    expect(unit.name).toBe('emergency');
    expect(schema.safeParse({ on: 'yes' }).success).toBe(false);
    expect(schema.safeParse({ on: true, until: 'monday' }).success).toBe(false);
  });

  it('holds a member post sent through malist receive; malist check points at a bad option', async () => {
    const dir = await tempConfig();
    await appendFile(join(dir, 'lists/red.yaml'), 'unit_options:\n  emergency: { on: true }\n');
    const input = await readFile(post('01-member-post.eml'));
    const r = await malist(['receive', '--config', dir, '--list', 'red'], { input });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/hold list=red /);
    expect(await readdir(join(dir, 'state/held/red'))).not.toHaveLength(0);
    // Only the moderator's notice and the poster's "held" notice go out; no member gets the post.
    expect((await readdir(join(dir, 'out'))).sort()).toEqual([
      'alice@example.org',
      'carol@example.org',
    ]);

    await appendFile(
      join(dir, 'lists/announce.yaml'),
      'unit_options:\n  emergency: { on: maybe }\n',
    );
    await appendFile(
      join(dir, 'lists/dev.yaml'),
      'unit_options:\n  emergency: { on: true }\n  footr: {}\n',
    );
    const check = await malist(['check', '--config', dir]);
    expect(check.code).toBe(78);
    const problems = check.stderr.split('\n').filter((l) => l.includes('unit_options'));
    expect(problems).toEqual([
      expect.stringMatching(
        /lists\/announce\.yaml:\d+:\d+ unit_options\.emergency\.on: emergency: expected a boolean, got 'maybe'/,
      ),
      expect.stringMatching(
        /lists\/dev\.yaml:\d+:\d+ unit_options\.emergency: this list's pipeline has no emergency unit, so these options do nothing \(fix: add emergency to pipeline:, or remove these options\)/,
      ),
      expect.stringMatching(
        /lists\/dev\.yaml:\d+:\d+ unit_options\.footr: unknown unit 'footr' \(fix: did you mean 'footer'\?\)/,
      ),
    ]);
  });
});
