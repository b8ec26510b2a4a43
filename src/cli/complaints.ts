/**
 * `malist complaints`: each list's spam complaints today as the sending services reported
 * them (`malist serve`'s /feedback endpoints): the count, the member deliveries, the rate,
 * a warning past `feedback.complaints.warn_rate` (0.1%) and whether new posts are held
 * (past `hold_rate`), then the latest complaints.
 */
import { complaintStanding } from '../bounces/complaints.ts';
import { percent } from '../bounces/feedback.ts';
import { openConfig, printProblems } from '../config/open.ts';
import { bounceStorageFor } from '../config/storage.ts';
import { commandArgs } from './args.ts';
import { EX } from './exit-codes.ts';

export const usage = `usage: malist complaints [--list NAME] [options]

Spam complaints today, per list: count, deliveries, rate (warns past 0.1%), held or not.

options:
  --config DIR    the configuration directory (malist.yaml, lists/)
  --list NAME     only this list
  -h, --help      this text
`;

export default async function complaints(argv: string[]): Promise<number> {
  const parsed = commandArgs(
    'complaints',
    argv,
    {
      config: { type: 'string', short: 'c' },
      list: { type: 'string', short: 'l' },
      help: { type: 'boolean', short: 'h' },
    },
    usage,
    process.stderr,
  );
  if (!parsed) return EX.USAGE;
  if (parsed.values.help) {
    process.stdout.write(usage);
    return EX.OK;
  }
  const { config } = await openConfig(parsed.values.config ? { dir: parsed.values.config } : {});
  if (config.problems.length > 0 || !config.main) {
    printProblems(config, process.stderr);
    return EX.CONFIG;
  }
  const settings = config.main.feedback?.complaints ?? {};
  const warnRate = settings.warn_rate ?? 0.001;
  const lists = config.lists.filter((l) => !parsed.values.list || l.name === parsed.values.list);
  if (lists.length === 0) {
    process.stderr.write(`malist complaints: no list named ${parsed.values.list}\n`);
    return EX.USAGE;
  }
  const bounces = await bounceStorageFor(config.main);
  for (const list of lists) {
    const s = await complaintStanding(bounces.complaints(list.name), bounces.sent, list.name);
    const flags = [
      s.rate > warnRate ? `WARNING: above ${percent(warnRate)}` : '',
      settings.hold_rate !== undefined && s.rate > settings.hold_rate
        ? `new posts HELD (above ${percent(settings.hold_rate)})`
        : '',
    ].filter(Boolean);
    process.stdout.write(
      `${list.name}\tcomplaints=${s.complaints} delivered=${s.delivered} rate=${percent(s.rate)}${flags.length ? `\t${flags.join('; ')}` : ''}\n`,
    );
    for (const c of s.recent.slice(-5))
      process.stdout.write(
        `  ${new Date(c.at).toISOString().slice(0, 16).replace('T', ' ')}  ${c.address}  ${c.service}${c.type ? ` ${c.type}` : ''}\n`,
      );
  }
  return EX.OK;
}
