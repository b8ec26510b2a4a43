/**
 * One address grammar for the whole product (issue 16): subscription by mail, `malist
 * members add` (a store's `add`), the config loader and every member store accept the same
 * set of addresses, and every address stored reads back identically — checked over
 * generated addresses, good ones and near misses (`#`, quotes, parentheses, `@` in the
 * local part, blanks…), through every store and the loader.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import '../helpers/property-seed.ts';
import { requestSubscribe } from '../../src/commands/membership.ts';
import { memberStoreOf, planAll } from '../../src/config/build.ts';
import { loadConfig } from '../../src/config/load.ts';
import { addressProblem } from '../../src/mail/address.ts';
import createMemoryMemberStore from '../../src/members/memory.ts';
import type { MemberStore } from '../../src/members/store.ts';
import createTextMemberStore from '../../src/members/text-file.ts';
import createYamlMemberStore from '../../src/members/yaml.ts';
import { TokenStore } from '../../src/state/tokens.ts';

const RUNS = Number(process.env.MALIST_PROPERTY_RUNS ?? 500) / 10;

const atext = fc.constantFrom(
  ..."abcxyzABCXYZ0129!$%&'*+-/=?^_`{|}~".split(''),
  'é',
  'ß',
  'ü',
  '中',
  'я',
);
const word = fc.array(atext, { minLength: 1, maxLength: 8 }).map((c) => c.join(''));
const local = fc.array(word, { minLength: 1, maxLength: 3 }).map((w) => w.join('.'));
const label = fc.oneof(
  fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/),
  fc.constantFrom('bücher', 'xn--bcher-kva', 'пример'),
);
const domain = fc.array(label, { minLength: 1, maxLength: 3 }).map((l) => l.join('.'));
const good = fc.tuple(local, domain).map(([l, d]) => `${l}@${d}`);
const poison = fc.constantFrom(
  '#',
  '"',
  '(',
  ')',
  '@',
  '\\',
  '[',
  ']',
  '<',
  '>',
  ',',
  ';',
  ':',
  ' ',
  '\t',
  '..',
);
/** A good address with one poison character put somewhere in its local part. */
const nearMiss = fc
  .tuple(local, domain, poison, fc.nat())
  .map(
    ([l, d, p, at]) => `${l.slice(0, at % (l.length + 1))}${p}${l.slice(at % (l.length + 1))}@${d}`,
  );
const addresses = fc.uniqueArray(
  fc.oneof(good, nearMiss, fc.constant('victim@example.org#@attacker.example')),
  { minLength: 1, maxLength: 4, selector: (a) => a.toLowerCase() },
);

async function stores(dir: string): Promise<Record<string, MemberStore>> {
  await writeFile(join(dir, 'inline.yaml'), 'address: red@list.example.com\n');
  return {
    memory: createMemoryMemberStore(),
    'yaml (list file)': createYamlMemberStore({ file: join(dir, 'inline.yaml') }),
    'yaml (members file)': createYamlMemberStore({ file: join(dir, 'm.yaml') }),
    'text-file': createTextMemberStore({ file: join(dir, 'red.members') }),
  };
}

/** What the config loader reads from the files the stores wrote. */
async function loaded(dir: string): Promise<Record<string, string[]>> {
  const config = join(dir, 'config');
  await mkdir(join(config, 'lists'), { recursive: true });
  await writeFile(
    join(config, 'malist.yaml'),
    'state_dir: state\ndistribute:\n  type: maildir\n  dir: out\n',
  );
  const read = (f: string) => readFile(join(dir, f), 'utf8').catch(() => '');
  await mkdir(join(config, 'members'));
  await writeFile(join(config, 'lists', 'inline.yaml'), await read('inline.yaml'));
  await writeFile(join(config, 'members', 'm.yaml'), await read('m.yaml'));
  await writeFile(join(config, 'members', 'red.members'), await read('red.members'));
  await writeFile(
    join(config, 'lists', 'yfile.yaml'),
    'address: y@list.example.com\nmembers_file: ../members/m.yaml\n',
  );
  await writeFile(
    join(config, 'lists', 'tfile.yaml'),
    'address: t@list.example.com\nmembers_file: ../members/red.members\n',
  );
  const cfg = await loadConfig({ dir: config, env: {} });
  expect(cfg.problems, JSON.stringify(cfg.problems)).toEqual([]);
  expect(cfg.warnings, JSON.stringify(cfg.warnings)).toEqual([]);
  // Each list's members as its posts read them (the store the loader's plan opens), and
  // as many as the loader counted.
  const plans = await planAll(cfg);
  const out: Record<string, string[]> = {};
  for (const l of cfg.lists) {
    out[l.name] = (await memberStoreOf(plans, l.name)!.list()).map((m) => m.address);
    expect(l.memberCount, l.name).toBe(out[l.name]!.length);
  }
  return out;
}

describe('one address grammar', () => {
  it('every store, the loader and subscription by mail accept the same set, and read back what was stored', async () => {
    await fc.assert(
      fc.asyncProperty(addresses, async (batch) => {
        const dir = await mkdtemp(join(tmpdir(), 'malist-grammar-'));
        try {
          const accepted = batch.filter((a) => addressProblem(a) === undefined);
          for (const [name, store] of Object.entries(await stores(dir))) {
            for (const address of batch) {
              const added = await store.add({ address }).then(
                () => true,
                () => false,
              );
              expect(added, `${name} add ${address}`).toBe(addressProblem(address) === undefined);
            }
            expect(
              (await store.list()).map((m) => m.address),
              name,
            ).toEqual(accepted);
            for (const address of accepted)
              expect((await store.get(address))?.address, name).toBe(address);
          }
          const fromLoader = await loaded(dir);
          expect(fromLoader.inline).toEqual(accepted);
          expect(fromLoader.yfile).toEqual(accepted);
          expect(fromLoader.tfile).toEqual(accepted);
          // Subscription by mail: a confirmation for exactly the same set.
          const tokens = new TokenStore(join(dir, 'tokens'), Buffer.alloc(32, 1));
          for (const address of batch) {
            const result = await requestSubscribe(
              {
                list: { name: 'red', address: 'red@list.example.com', members: [] },
                store: createMemoryMemberStore(),
                tokens,
                subscribePolicy: 'confirm',
                unsubscribePolicy: 'confirm',
                approvers: [],
                confirmTtlMs: 3_600_000,
                now: Date.now(),
                budget: { confirmations: 1 },
              },
              'requester@example.net',
              // A command line's words carry no blanks at their ends (the parser splits there).
              address.trim(),
            );
            expect(result.messages.length, `subscribe ${address}`).toBe(
              addressProblem(address.trim().toLowerCase()) === undefined ? 1 : 0,
            );
          }
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: Math.max(10, RUNS) },
    );
  }, 300_000);
});
