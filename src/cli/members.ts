/**
 * `malist members list|add|remove|set`: the member store of a list from a shell (an
 * admin's changes need no confirmation). Writes go through the store: atomic, comments
 * and order of the YAML kept.
 */
import { bounceColumns, readBounceStatus } from '../bounces/status.ts';
import { memberStoreOf } from '../config/build.ts';
import { openConfig, printProblems } from '../config/open.ts';
import { normalizeAddress } from '../mail/address.ts';
import { type MemberPatch, OPTION_NAMES } from '../members/store.ts';
import { commandArgs } from './args.ts';
import { EX } from './exit-codes.ts';

export const usage = `usage: malist members <command> --list NAME [ADDRESS] [options]

commands:
  list                        members, their options and bounce standing (score, last, probe, reason)
  add ADDRESS [--digest]      add a member (no confirmation: you are the admin)
  remove ADDRESS              remove a member
  set ADDRESS OPTION on|off   OPTION: digest, nomail, notmetoo, moderate

options:
  --config DIR    the configuration directory (malist.yaml, lists/)
  --list NAME     the list
  -h, --help      this text
`;

export default async function members(argv: string[]): Promise<number> {
  const parsed = commandArgs(
    'members',
    argv,
    {
      config: { type: 'string', short: 'c' },
      list: { type: 'string', short: 'l' },
      digest: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    usage,
    process.stderr,
  );
  if (!parsed) return EX.USAGE;
  const { values, positionals } = parsed;
  const [command, address, option, onOff] = positionals;
  if (values.help || !command) {
    process.stdout.write(usage);
    return values.help ? EX.OK : EX.USAGE;
  }
  const { config, plans } = await openConfig(values.config ? { dir: values.config } : {});
  if (config.problems.length > 0) {
    printProblems(config, process.stderr);
    return EX.CONFIG;
  }
  const list = config.lists.find((l) => l.name === values.list);
  if (!list) {
    process.stderr.write(
      `malist members: --list must name a list: ${config.lists.map((l) => l.name).join(', ') || '(none)'}\n`,
    );
    return EX.USAGE;
  }
  const store = memberStoreOf(plans, list.name)!;

  try {
    switch (command) {
      case 'list': {
        const bounces = await readBounceStatus(
          config.main!.state_dir,
          list.name,
          list.settings.bounces,
        );
        for (const m of await store.list()) {
          const flags = [
            ...OPTION_NAMES.filter((o) => m[o]),
            ...(m.nomail_reason ? [`(${m.nomail_reason})`] : []),
          ];
          const standing = bounceColumns(bounces.get(normalizeAddress(m.address)));
          const columns = [flags.join(' '), standing].filter(Boolean).join('\t');
          process.stdout.write(`${m.address}${columns ? `\t${columns}` : ''}\n`);
        }
        return EX.OK;
      }
      case 'add':
        if (!address) break;
        process.stdout.write(
          `${(await store.add({ address, ...(values.digest ? { digest: true } : {}) })) === 'added' ? 'added' : 'already a member'}: ${address}\n`,
        );
        return EX.OK;
      case 'remove':
        if (!address) break;
        process.stdout.write(
          `${(await store.remove(address)) ? 'removed' : 'not a member'}: ${address}\n`,
        );
        return EX.OK;
      case 'set': {
        if (!address || !option || !(OPTION_NAMES as readonly string[]).includes(option)) break;
        const value = !/^(off|no|false|0)$/i.test(onOff ?? 'on');
        const patch: MemberPatch = {
          [option]: value,
          ...(option === 'nomail' && value ? { nomail_reason: 'admin' as const } : {}),
        };
        const done = await store.update(address, patch);
        process.stdout.write(
          done ? `${address}: ${option} ${value ? 'on' : 'off'}\n` : `not a member: ${address}\n`,
        );
        return done ? EX.OK : EX.NOUSER;
      }
    }
  } catch (error) {
    process.stderr.write(`malist members: ${(error as Error).message}\n`);
    return EX.DATAERR;
  }
  process.stderr.write(usage);
  return EX.USAGE;
}
