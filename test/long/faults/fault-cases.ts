/**
 * The fault suite's cases and runner. Each case posts one mail to the `red` list through
 * `malist receive` (as an MTA does) while the SMTP server, the network or the disk
 * misbehaves; records what the operator sees (exit code, the first stderr line about it,
 * the json-log event); then heals the fault and runs `malist queue retry` (as cron's
 * next run would, without waiting for the backoff); and counts at the SMTP server, per
 * recipient: delivered once, refused for good (dead letter) — or lost or duplicated.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  events,
  listPost,
  malist,
  type Ran,
  RED_MEMBERS,
  writeConfig,
} from '../../helpers/crash-config.ts';
import type { FaultRule, TestSmtpServer } from '../../helpers/smtp-server.ts';

export interface FaultCase {
  name: string;
  /** Server rules while the post is received. */
  rules?: FaultRule[];
  /** servers.out settings while the post is received (healed for the retry). */
  smtp?: Record<string, unknown>;
  /** servers.out settings the operator fixes the config to before the retry. @default {} */
  healSmtp?: Record<string, unknown>;
  /** Simulated file-system fault for `receive` (see crash-fs-fault.ts). */
  fsFault?: string;
  /** Prepare the config dir (e.g. make the spool unwritable); undone before the retry. */
  break?(dir: string): Promise<{ spool?: string; heal(): Promise<void> }>;
  /** Recipients the server refuses for good: they end in a dead letter, not delivered. */
  refused?: string[];
  /** The exit code `malist receive` must give. @default 0 */
  exit?: number;
  /** After the exit code 75 the MTA gives the mail again: the retry is a second `receive`. */
  mtaRetries?: boolean;
  /** What the operator must be told (stderr or json-log). */
  tells: RegExp;
}

export interface FaultResult {
  fault: string;
  exit: number | null;
  /** The line the operator sees about it (stderr, else json-log). */
  sees: string;
  delivered: number;
  refused: number;
  lost: number;
  duplicated: number;
  /** Refused recipients that got the mail anyway. */
  wronglyDelivered: number;
  /** Refused recipients that are in a dead letter, as they should be. */
  deadLettered: number;
  ok: boolean;
  problems: string[];
  ms: number;
}

const rcpt = (code: number, recipient?: string): FaultRule => ({
  stage: 'rcpt',
  ...(recipient ? { recipient } : {}),
  reply: { code, message: `${code} test` },
});

/** Every SMTP-side case: 421 at connect, 4xx/5xx at MAIL, RCPT (one or all), DATA, drops, stalls, TLS. */
export function smtpCases(): FaultCase[] {
  const cases: FaultCase[] = [
    {
      name: '421 at connect',
      rules: [{ stage: 'connect', reply: { code: 421, message: 'too busy' } }],
      tells: /421/,
    },
  ];
  for (const code of [451, 452, 550, 552, 554]) {
    const permanent = code >= 500;
    cases.push(
      {
        name: `${code} at MAIL`,
        rules: [{ stage: 'mail', reply: { code, message: `${code} test` } }],
        ...(permanent ? { refused: RED_MEMBERS } : {}),
        tells: new RegExp(String(code)),
      },
      {
        name: `${code} at RCPT (one of three)`,
        rules: [rcpt(code, 'bob@example.org')],
        ...(permanent ? { refused: ['bob@example.org'] } : {}),
        tells: new RegExp(String(code)),
      },
      {
        name: `${code} at RCPT (all)`,
        rules: [rcpt(code)],
        ...(permanent ? { refused: RED_MEMBERS } : {}),
        tells: new RegExp(String(code)),
      },
      {
        name: `${code} at DATA`,
        rules: [{ stage: 'data', reply: { code, message: `${code} test` } }],
        ...(permanent ? { refused: RED_MEMBERS } : {}),
        tells: new RegExp(String(code)),
      },
    );
  }
  cases.push(
    {
      name: 'connection closed mid-DATA',
      rules: [{ stage: 'data', action: 'disconnect' }],
      tells: /clos|lost|ECONN|socket|unexpected/i,
    },
    {
      name: 'server stalls past the timeout (at DATA)',
      rules: [{ stage: 'data', action: 'stall' }],
      smtp: { socket_timeout_ms: 1500, transaction_timeout_ms: 2500 },
      tells: /time|no activity/i,
    },
    {
      name: 'TLS handshake failure (implicit TLS to a plain server)',
      smtp: { secure: true, starttls: undefined },
      tells: /TLS|SSL|wrong version|handshake/i,
    },
  );
  return cases;
}

/** Disk-side cases: the spool cannot be written; receive must exit 75 (the MTA keeps it). */
export function diskCases(): FaultCase[] {
  return [
    {
      name: 'spool below a regular file (ENOTDIR)',
      exit: 75,
      mtaRetries: true,
      async break(dir) {
        await writeFile(join(dir, 'blocked'), 'a regular file\n');
        return { spool: 'blocked/spool', heal: () => rm(join(dir, 'blocked'), { force: true }) };
      },
      tells: /ENOTDIR|spool|not a directory|temporar/i,
    },
    {
      name: 'full disk on the spool (ENOSPC, simulated)',
      exit: 75,
      mtaRetries: true,
      fsFault: 'ENOSPC:/spool/',
      tells: /ENOSPC|no space|spool|temporar/i,
    },
    {
      name: 'spool not writable (EACCES, simulated)',
      exit: 75,
      mtaRetries: true,
      fsFault: 'EACCES:/spool/',
      tells: /EACCES|spool|permission|temporar/i,
    },
    {
      name: 'state journal not writable (EACCES, simulated)',
      exit: 75,
      mtaRetries: true,
      fsFault: 'EACCES:/state/journal',
      tells: /EACCES|journal|state|temporar/i,
    },
  ];
}

async function deadLettered(spool: string): Promise<Set<string>> {
  const out = new Set<string>();
  const dead = join(spool, 'dead');
  for (const name of await readdir(dead).catch(() => [] as string[])) {
    try {
      const env = JSON.parse(await readFile(join(dead, name, 'envelope.json'), 'utf8')) as {
        recipients: { address: string; state: string }[];
      };
      for (const r of env.recipients) if (r.state === 'failed') out.add(r.address.toLowerCase());
    } catch {
      // not an entry
    }
  }
  return out;
}

/** What `malist queue list` shows as LAST ERROR for the waiting entries. */
async function lastErrors(spool: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of ['new', 'cur']) {
    for (const name of await readdir(join(spool, sub)).catch(() => [] as string[])) {
      try {
        const env = JSON.parse(await readFile(join(spool, sub, name, 'envelope.json'), 'utf8')) as {
          last_error?: string;
        };
        if (env.last_error) out.push(env.last_error);
      } catch {
        // moving meanwhile
      }
    }
  }
  return out;
}

function firstLine(ran: Ran, tells: RegExp): string {
  const lines = `${ran.stderr}\n${ran.stdout}`.split('\n').filter(Boolean);
  return lines.find((l) => tells.test(l)) ?? lines[0] ?? '';
}

/** Runs one case against `server` (rules are cleared afterwards). */
export async function runFault(server: TestSmtpServer, fault: FaultCase): Promise<FaultResult> {
  const started = performance.now();
  const id = `fault-${fault.name.replace(/\W+/g, '-')}-${Date.now().toString(36)}@faults.test`;
  const post = listPost({ id });
  let dir = await writeConfig({ smtpPort: server.port });
  let spool = 'spool';
  let heal: (() => Promise<void>) | undefined;
  if (fault.break) {
    const broken = await fault.break(dir);
    heal = broken.heal;
    if (broken.spool) spool = broken.spool;
  }
  dir = await writeConfig(
    { smtpPort: server.port, spool, ...(fault.smtp ? { smtp: fault.smtp } : {}) },
    dir,
  );
  for (const rule of fault.rules ?? []) server.addRule(rule);
  const problems: string[] = [];
  let first: Ran;
  try {
    first = await malist(['receive', '--config', dir, '--list', 'red'], {
      input: post,
      ...(fault.fsFault ? { fsFault: fault.fsFault } : {}),
      timeoutMs: 60_000,
    });
  } finally {
    server.clearRules();
  }
  const logged = (await events(dir)).map((e) => JSON.stringify(e));
  const seesStderr = firstLine(first, fault.tells);
  const inLog = logged.find((l) => fault.tells.test(l));
  const inQueue = (await lastErrors(join(dir, spool))).find((l) => fault.tells.test(l));
  let sees = fault.tells.test(seesStderr)
    ? `receive: ${seesStderr}`
    : inLog
      ? `json-log: ${inLog}`
      : inQueue
        ? `receive: silent (exit ${first.code}); malist queue list: ${inQueue}`
        : `(not told) queue list: ${(await lastErrors(join(dir, spool)))[0] ?? '-'}; stderr: ${first.stderr.trim().split('\n')[0] ?? ''}`;
  if (first.code !== (fault.exit ?? 0))
    problems.push(
      `receive exited ${first.code}, expected ${fault.exit ?? 0}: ${first.stderr.trim().slice(0, 300)}`,
    );

  // Heal, then what happens next in production: the MTA gives the mail again after a 75,
  // cron runs the queue otherwise.
  await heal?.();
  if (fault.break || fault.smtp) {
    spool = fault.break ? 'spool' : spool;
    await writeConfig(
      { smtpPort: server.port, spool, ...(fault.healSmtp ? { smtp: fault.healSmtp } : {}) },
      dir,
    );
  }
  await new Promise((r) => setTimeout(r, 1100)); // past the 1 s backoff
  const retry = fault.mtaRetries
    ? await malist(['receive', '--config', dir, '--list', 'red'], { input: post })
    : await malist(['run', '--config', dir]);
  if (retry.code !== 0)
    problems.push(`the retry exited ${retry.code}: ${retry.stderr.trim().slice(0, 300)}`);
  if (!fault.tells.test(sees)) {
    // Told only later: by the next run's queue summary (the queue owned the recipients).
    const later = `${retry.stdout}\n${retry.stderr}`.split('\n').find((l) => fault.tells.test(l));
    sees = later ? `next run: ${later}` : '(nothing)';
    if (!later) problems.push(`the operator is never told (${fault.tells})`);
  }

  const refused = new Set((fault.refused ?? []).map((r) => r.toLowerCase()));
  const dead = await deadLettered(join(dir, spool));
  let delivered = 0;
  let lost = 0;
  let duplicated = 0;
  let wronglyDelivered = 0;
  let deadCount = 0;
  for (const member of RED_MEMBERS) {
    const n = server.count(member, id);
    if (refused.has(member)) {
      if (n > 0) {
        wronglyDelivered++;
        problems.push(`${member} was refused for good but got ${n} copies`);
      }
      if (dead.has(member)) deadCount++;
      else problems.push(`${member} was refused but is in no dead letter`);
      continue;
    }
    if (n === 0) {
      lost++;
      problems.push(`${member} never got the post`);
    }
    if (n > 1) {
      duplicated += n - 1;
      problems.push(`${member} got ${n} copies`);
    }
    if (n >= 1) delivered++;
  }
  await rm(dir, { recursive: true, force: true });
  return {
    fault: fault.name,
    exit: first.code,
    sees: sees.slice(0, 160),
    delivered,
    refused: refused.size,
    lost,
    duplicated,
    wronglyDelivered,
    deadLettered: deadCount,
    ok: problems.length === 0,
    problems,
    ms: performance.now() - started,
  };
}

/** The operator's table. */
export function formatFaults(rows: FaultResult[], title: string): string {
  const head = ['fault', 'exit', 'delivered', 'refused', 'dead-letter', 'lost', 'duplicated', 'ok'];
  const body = rows.map((r) => [
    r.fault,
    String(r.exit),
    String(r.delivered),
    String(r.refused),
    String(r.deadLettered),
    String(r.lost),
    String(r.duplicated + r.wronglyDelivered),
    r.ok ? 'yes' : 'NO',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const sees = rows.map((r) => `  ${r.fault}: ${r.sees}`);
  const totals = rows.reduce(
    (t, r) => ({ lost: t.lost + r.lost, dup: t.dup + r.duplicated + r.wronglyDelivered }),
    { lost: 0, dup: 0 },
  );
  return [
    title,
    line(head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
    `${rows.length} faults: ${totals.lost} lost, ${totals.dup} duplicated, ${rows.filter((r) => !r.ok).length} not as promised`,
    'what the operator sees:',
    ...sees,
  ].join('\n');
}
