/**
 * `startIntake(opened, only)`: a mail whose list is known (`malist receive` with a list or
 * an envelope recipient) builds that list's runtime alone; without one (`malist lmtp`, a
 * mail routed by To/Cc) every list's. Every list is checked either way.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isOutcome, openIntake, routeMail, startIntake } from '../../src/cli/intake.ts';
import { tempConfig } from './run-malist.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function opened() {
  const dir = await tempConfig();
  dirs.push(dir);
  const lines: string[] = [];
  const result = await openIntake(dir, (line) => lines.push(line));
  if (isOutcome(result)) throw new Error(`${result.text}\n${lines.join('\n')}`);
  return { dir, opened: result };
}

describe('startIntake', () => {
  it("builds only the target list's runtime when the route has one", async () => {
    const { opened: o } = await opened();
    const all = o.plans.lists.map((l) => l.list.name).sort();
    expect(all.length).toBeGreaterThan(1);
    const route = routeMail(o.plans, { recipient: 'red-request@list.example.com' });
    if (isOutcome(route) || !route.target) throw new Error('no route');
    const one = await startIntake(o, route.target);
    if (isOutcome(one)) throw new Error(one.text);
    try {
      expect(one.runtime.lists.map((l) => l.list.name)).toEqual(['red']);
      // The opened configuration is left whole: the next mail may be for another list.
      expect(o.plans.lists.map((l) => l.list.name).sort()).toEqual(all);
    } finally {
      await one.close();
    }
    const every = await startIntake(o);
    if (isOutcome(every)) throw new Error(every.text);
    try {
      expect(every.runtime.lists.map((l) => l.list.name).sort()).toEqual(all);
    } finally {
      await every.close();
    }
  });

  it('still refuses the mail when another list is broken (every list is checked)', async () => {
    const { dir } = await opened();
    await writeFile(join(dir, 'lists', 'zz.yaml'), 'address: not an address\n');
    const lines: string[] = [];
    const result = await openIntake(dir, (line) => lines.push(line));
    expect(isOutcome(result) && result.code).toBe(78);
    expect(lines.join('\n')).toContain('zz.yaml');
  });
});
