/**
 * Hostile input, end to end: real-world messages through `malist receive` on a members
 * list (`red`) and an open list (`open`). Each must end distributed, held, rejected (with
 * a notice), discarded (with a reason) or quarantined — said in the delivery log or on
 * stderr — and `receive` must exit with a code an MTA handles: never a crash, never
 * silence.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CorpusMessage } from '../../helpers/corpus.ts';
import { malist, writeConfig } from '../../helpers/crash-config.ts';

export const HANDLED_OUTCOMES = ['distributed', 'held', 'rejected', 'discarded', 'quarantined'];

export interface CorpusOutcome {
  file: string;
  list: 'red' | 'open';
  exit: number | null;
  /** From the delivery log (outcome=…), else what stderr says. */
  outcome: string;
  /** The line that tells the operator. */
  said: string;
  problems: string[];
}

/** One message through `malist receive --list LIST` with a fresh config and state. */
export async function receiveCorpus(
  message: CorpusMessage,
  list: 'red' | 'open',
  smtpPort: number,
): Promise<CorpusOutcome> {
  const dir = await writeConfig({ smtpPort });
  const problems: string[] = [];
  try {
    const ran = await malist(['receive', '--config', dir, '--list', list], {
      input: message.raw,
      timeoutMs: 60_000,
    });
    const log = (await readFile(join(dir, 'delivery.log'), 'utf8').catch(() => '')).trim();
    const outcomes = [...log.matchAll(/outcome=(\S+)/g)].map((m) => m[1]!);
    const stderr = ran.stderr.trim();
    let outcome = outcomes.find((o) => HANDLED_OUTCOMES.includes(o)) ?? '';
    if (!outcome && /quarantine/i.test(stderr)) outcome = 'quarantined';
    const said = log.split('\n')[0] || stderr.split('\n')[0] || '';
    if (ran.signal) problems.push(`killed by ${ran.signal}`);
    if (ran.code !== 0)
      problems.push(`exit ${ran.code}: ${stderr.split('\n').slice(-2).join(' | ').slice(0, 300)}`);
    if (!outcome) problems.push(`no handled outcome (log: ${log.slice(0, 200) || '-'})`);
    if (!said) problems.push('silence: no delivery-log line and nothing on stderr');
    if (/\n\s+at .*\(.*:\d+:\d+\)/.test(stderr)) problems.push('a stack trace on stderr');
    return {
      file: message.file,
      list,
      exit: ran.code,
      outcome,
      said: said.slice(0, 200),
      problems,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs `messages` × lists, `parallel` at a time. */
export async function receiveAll(
  messages: CorpusMessage[],
  smtpPort: number,
  parallel = 4,
): Promise<CorpusOutcome[]> {
  const jobs = messages.flatMap((m) => (['red', 'open'] as const).map((list) => ({ m, list })));
  const out: CorpusOutcome[] = [];
  for (let i = 0; i < jobs.length; i += parallel) {
    out.push(
      ...(await Promise.all(
        jobs.slice(i, i + parallel).map(({ m, list }) => receiveCorpus(m, list, smtpPort)),
      )),
    );
  }
  return out;
}

export function formatCorpus(rows: CorpusOutcome[]): string {
  const count = (list: string) => {
    const by = new Map<string, number>();
    for (const r of rows.filter((r) => r.list === list))
      by.set(r.outcome || 'NONE', (by.get(r.outcome || 'NONE') ?? 0) + 1);
    return [...by].map(([k, n]) => `${n} ${k}`).join(', ');
  };
  const bad = rows.filter((r) => r.problems.length > 0);
  return [
    `corpus through malist receive: ${rows.length / 2} messages × 2 lists`,
    `  red (members): ${count('red')}`,
    `  open:          ${count('open')}`,
    `  crashes or silence: ${bad.length}`,
    ...bad.map((r) => `    ${r.file} on ${r.list}: ${r.problems.join('; ')}`),
  ].join('\n');
}
