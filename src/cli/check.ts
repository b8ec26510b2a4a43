/**
 * `malist check [--config DIR]` — validates malist.yaml and every list file (and every unit
 * they name), prints each list with its members count and pipeline, and exits 78 on any
 * problem, each printed as file:line:col key: what was expected (fix: …). Warns (exit code
 * unchanged) when a list's DKIM or ARC key does not match its published DNS TXT record.
 */
import { parseArgs } from 'node:util';
import { installationResolver } from '../config/authentication.ts';
import { openConfig, printProblems, printWarnings } from '../config/open.ts';
import { publishedKeyWarnings } from '../config/signing.ts';
import { type FooterOptions, isPersonal } from '../processors/footer.ts';
import { isPersonalUrl } from '../processors/list-headers.ts';
import { EX } from './exit-codes.ts';

const USAGE = 'usage: malist check [--config DIR]';

export default async function check(argv: string[]): Promise<number> {
  let values: { config?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    process.stderr.write(`malist check: ${(error as Error).message}\n${USAGE}\n`);
    return EX.USAGE;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return EX.OK;
  }
  const { config, plans } = await openConfig(values.config ? { dir: values.config } : {});
  const out = process.stdout;
  out.write(
    config.embedded
      ? `no malist.yaml in ${config.dir}: the embedded default applies\n`
      : `${config.source.file}: ${plans.fetchers.length} source(s) [${plans.fetchers.map((p) => p.type).join(', ')}], distribute [${plans.distributors.map((p) => p.type).join(', ')}], reactors [${plans.reactors.map((p) => p.type).join(', ')}]\n`,
  );
  const personalises = plans.distributors.some((p) => p.type === 'queue');
  for (const { list, units, memberStore } of plans.lists) {
    const s = list.settings;
    const explicit = (list.source.value as { member_store?: unknown }).member_store !== undefined;
    const store = memberStore && explicit ? `, member store ${memberStore.type}` : '';
    const extra = `${store}${list.deliver_to.length ? `, deliver_to ${list.deliver_to.join(', ')}` : ''}`;
    out.write(
      `${list.name}: ${s.address} "${s.display_name ?? list.name}", ${s.members.length} member${s.members.length === 1 ? '' : 's'} (${list.membersFrom}), posting ${s.posting ?? 'members'}${extra}\n` +
        `  pipeline: ${units.map((u) => u.type).join(' → ')}\n`,
    );
    // Only the queue makes each member's copy (src/config/personalise.ts).
    const footer = units.find((u) => u.type === 'footer');
    if (!personalises && footer && isPersonal(s, footer.options as FooterOptions))
      out.write(
        '  note: the footer names the member, which only the queue distributor personalises: with these distributors posts go out without it\n',
      );
    else if (!personalises && isPersonalUrl(s.unsubscribe_url))
      out.write(
        '  note: unsubscribe_url is personal, which only the queue distributor personalises: with these distributors List-Unsubscribe carries the mailto: address only\n',
      );
  }
  printWarnings(config, process.stderr);
  // DKIM and ARC keys against their DNS records (through malist.yaml's `dns:`).
  for (const warning of await publishedKeyWarnings(plans, installationResolver(config.main)))
    process.stderr.write(`${warning}\n`);
  if (config.problems.length > 0) {
    printProblems(config, process.stderr);
    process.stderr.write(
      `malist check: ${config.problems.length} problem${config.problems.length === 1 ? '' : 's'}\n`,
    );
    return EX.CONFIG;
  }
  out.write(`ok: ${plans.lists.length} list${plans.lists.length === 1 ? '' : 's'}, no problems\n`);
  return EX.OK;
}
