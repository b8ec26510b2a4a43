/**
 * `startIntake(opened, only)`: a mail whose list is known (`malist receive` with a list or
 * an envelope recipient) builds that list's runtime alone; without one (`malist lmtp`, a
 * mail routed by To/Cc) every list's. And `openIntake(dir, report, only)`: the lists read
 * for one envelope (receive) route every address as reading them all does.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isOutcome, openIntake, routeMail, startIntake } from '../../src/cli/intake.ts';
import type { LoadOptions } from '../../src/config/load.ts';
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

  it('without `only` (lmtp), still refuses the mail when another list is broken (every list is checked)', async () => {
    const { dir } = await opened();
    await writeFile(join(dir, 'lists', 'zz.yaml'), 'address: not an address\n');
    const lines: string[] = [];
    const result = await openIntake(dir, (line) => lines.push(line));
    expect(isOutcome(result) && result.code).toBe(78);
    expect(lines.join('\n')).toContain('zz.yaml');
  });
});

/**
 * A site whose lists make the prefilter's cases (config/list-prefilter.ts): a name that is
 * another's prefix, a quoted address in a file of another name, a bounce address on another
 * domain, a VERP delimiter '-', two lists of one local part, an address it cannot read.
 */
const SITE: Record<string, string> = {
  'red-team.yaml': 'address: red-team@list.example.com\nmembers: [a@example.org]\n',
  'crimson.yaml': 'address: "scarlet@list.example.com" # the posting address\nmembers: []\n',
  'bounced.yaml':
    'address: blue@list.example.com\nbounce_address: errors@mail.example.net\nmembers: []\n',
  'dashed.yaml': 'address: dash@list.example.com\nverp_delimiter: "-"\nmembers: []\n',
  'team.yaml': 'address: team@list.example.com\nmembers: []\n',
  'team-other.yaml': 'address: team@other.example.org\nmembers: []\n',
  'anchored.yaml': 'address: &a green@list.example.com\nmembers: []\n',
};

/** Every address a list answers to, its aliases on another domain, and some it does not. */
function recipientsOf(address: string): string[] {
  const [local, domain] = address.split('@') as [string, string];
  const token = `${'a'.repeat(32)}-${'b'.repeat(24)}`;
  return [
    address,
    address.toUpperCase(),
    `<${address}>`,
    ...['request', 'owner', 'bounces', 'join', 'leave', 'subscribe', 'unsubscribe'].map(
      (w) => `${local}-${w}@${domain}`,
    ),
    `${local}+subscribe@${domain}`,
    `${local}-request+unsubscribe@${domain}`,
    `${local}-confirm+${token}@${domain}`,
    `${local}-bounces+alice=example.org@${domain}`,
    `${local}-bounces-alice=example.org@${domain}`,
    `${local}-bounces+alice=example.org+k2j3@${domain}`,
    `${local}@elsewhere.example.net`,
    `${local}+tag@elsewhere.example.net`,
    `${local}x@${domain}`,
  ];
}

describe("openIntake's `only`: the lists one envelope could be for", () => {
  it('routes every address of every list as reading every list does', async () => {
    const dir = await tempConfig();
    dirs.push(dir);
    for (const [file, text] of Object.entries(SITE))
      await writeFile(join(dir, 'lists', file), text);
    const report: string[] = [];
    const all = await openIntake(dir, (line) => report.push(line));
    if (isOutcome(all)) throw new Error(`${all.text}\n${report.join('\n')}`);
    const targetOf = (o: typeof all, by: { list?: string; recipient?: string }) => {
      const route = routeMail(o.plans, by);
      return isOutcome(route) ? undefined : route.target?.list.name;
    };
    const readWith = async (only: LoadOptions['only']) => {
      const o = await openIntake(dir, (line) => report.push(line), only);
      if (isOutcome(o)) throw new Error(`${o.text}\n${report.join('\n')}`);
      return o;
    };
    const recipients = [
      ...all.plans.lists.flatMap((l) => recipientsOf(l.list.settings.address)),
      'errors@mail.example.net',
      'team@third.example.com',
      'nobody@list.example.com',
    ];
    let routed = 0;
    for (const recipient of recipients) {
      const whole = targetOf(all, { recipient });
      const some = targetOf(await readWith({ recipient }), { recipient });
      // The list reading them all finds is among those read, and found (the prefilter keeps
      // too many, never too few); an address no list has finds none either way (receive then
      // reads them all, and says so as before).
      expect(some, recipient).toBe(whole);
      if (whole) routed++;
    }
    expect(routed).toBeGreaterThan(100);
    for (const name of all.plans.lists.map((l) => l.list.name))
      expect(targetOf(await readWith({ name }), { list: name })).toBe(name);
  }, 120_000);
});
