/**
 * `malist digest`: sends the digests that are due (or all pending ones with --force) to
 * the members who take digests, through the configured distributors under the journal
 * (a repeat after a crash sends nothing twice).
 */
import { parseArgs } from 'node:util';
import { buildReactors, memberStoreOf } from '../config/build.ts';
import { openConfig, printProblems } from '../config/open.ts';
import { signedDistributors, signingOf } from '../config/runtime.ts';
import { journalFor, listStateFor } from '../config/storage.ts';
import { digestDue, sendDigest } from '../digest/send.ts';
import { NothingMore } from '../errors.ts';
import { play } from '../play.ts';
import type { DeliveryReport, Distributor, Fetched, ListMail } from '../types.ts';
import { EX } from './exit-codes.ts';

export const usage = `usage: malist digest [options]

options:
  --list NAME     only this list
  --force         send every pending digest now, due or not
  --format F      mime (default) or plain (RFC 1153)
  --config DIR    the configuration directory (malist.yaml, lists/)
  -h, --help      this text
`;

export default async function digest(argv: string[]): Promise<number> {
  let values: { list?: string; force?: boolean; format?: string; config?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        list: { type: 'string', short: 'l' },
        force: { type: 'boolean' },
        format: { type: 'string' },
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`malist digest: ${(error as Error).message}\n${usage}`);
    return EX.USAGE;
  }
  if (values.help) {
    process.stdout.write(usage);
    return EX.OK;
  }
  if (values.format && values.format !== 'mime' && values.format !== 'plain') {
    process.stderr.write(`malist digest: --format is mime or plain, not '${values.format}'\n`);
    return EX.USAGE;
  }
  const { config, plans } = await openConfig(values.config ? { dir: values.config } : {});
  if (config.problems.length > 0 || !config.main) {
    printProblems(config, process.stderr);
    return EX.CONFIG;
  }
  const stateDir = config.main.state_dir;
  const journal = await journalFor(config.main);
  const listState = await listStateFor(config.main);
  const reactors = buildReactors(plans);
  const distributors = signedDistributors(
    plans,
    reactors,
    await signingOf(plans, undefined, stateDir),
  );
  // Through play(): journaled per (list, key), so a rerun after a crash sends once.
  const viaPlay: Distributor = {
    name: 'digest-delivery',
    async distribute(mail: ListMail): Promise<DeliveryReport> {
      const queue = [mail];
      const fetcher = {
        name: 'malist-digest',
        async fetch(): Promise<Fetched> {
          const next = queue.shift();
          if (!next) throw new NothingMore();
          return { mail: next, ack: async () => {} };
        },
        async close() {},
      };
      const summary = await play({
        fetcher,
        distributor: distributors,
        reactor: reactors,
        stateDir,
        journal,
      });
      if (summary.failed > 0)
        throw new Error('the digest could not be delivered; it is kept for the next run');
      return { results: [] };
    },
  };
  let sent = 0;
  for (const l of config.lists.filter((x) => !values.list || x.name === values.list)) {
    const store = await listState.digest(l.name);
    const options = values.format ? { format: values.format as 'mime' | 'plain' } : {};
    if (!values.force && !(await store.openIssue()) && !(await digestDue(store, options))) continue;
    try {
      const result = await sendDigest({
        list: l.settings,
        store,
        members: memberStoreOf(plans, l.name)!,
        distributor: viaPlay,
        options,
      });
      if (result) {
        sent++;
        process.stdout.write(
          `${l.name}: sent Vol ${result.number.volume}, Issue ${result.number.issue} to ${result.recipients} member(s)\n`,
        );
      }
    } catch (error) {
      process.stderr.write(`malist digest: ${l.name}: ${(error as Error).message}\n`);
      return EX.TEMPFAIL;
    }
  }
  for (const d of distributors) await d.close?.();
  if (sent === 0) process.stdout.write('no digest due\n');
  return EX.OK;
}
