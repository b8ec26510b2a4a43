/**
 * `npm run bench`: fan-out speed, side by side with mlmmj and with the wire's limit.
 *
 * One sink (bench/sink.ts) on loopback takes every message. First its ceiling is measured
 * with a raw blaster (bench/blaster.ts) for each shape of traffic; then each malist case
 * runs in a child process (bench/case.ts: maildir inbox → play() → single-list → durable
 * queue → bulk client), then the baselines (nodemailer's pool; mlmmj when installed).
 * Wall time runs from just before play() (or mlmmj-receive's spawn) to the last recipient
 * accepted at the sink. Prints a table and writes bench/results/latest.{json,md}.
 *
 * Then the signing section (bench/dkim-sign.ts, issue 19): 10,000 personalised copies
 * DKIM-signed (rsa-sha256 2048, ed25519), self-check on and off, on one thread and on the
 * worker pool; copies/s, CPU and peak RSS, each case in its own child.
 *
 * Flags: --quick (no 100,000-member cases, no mlmmj per-recipient), --no-mlmmj, --dir DIR
 * (where inboxes, spools and state go; default the system's temp directory), --bounce (only
 * the bounce parser's case: a 5 MB hostile DSN, bench/bounce.ts), --cookies (only what VERP
 * cookies and the sent index cost per recipient, bench/verp-cost.ts), --guards (only issue
 * 16's gates: sanity, automated and header rules, bench/guards.ts), --members (only issue
 * 17's `members sync` of 10,000 members, bench/members-sync.ts), --no-sign (no signing
 * section; `node --import tsx bench/dkim-sign.ts` runs that section alone), --sign (only the
 * signing sections: the raw signer and the signed copies through the queue), --archive (only
 * the archive's rows), --no-archive (without them), --web (only the web pages of a
 * 100,000-member list, bench/web.ts: `malist serve` compiled in its own process, server time
 * p95 and RSS; also rows of the default table; --from-source: through tsx), --ses (only issue 23's row:
 * 10,000 VERP copies through the queue and the SES transport to the fake SES, bench/ses.ts).
 *
 * Signed copies through the queue (issue 19): 10,000 members, each copy personal (its RFC
 * 8058 one-click URL) and DKIM-signed in the queue's per-recipient step, rsa-sha256 2048 and
 * ed25519, self-check on and off, against the same personal copies unsigned; and a batched
 * post signed once against the same post unsigned (its cost must stay under 5%).
 *
 * The archive's rows (bench/archive.ts, issue 21, in its own child): 100,000 generated posts
 * imported into a list's archive and index (posts/s; goal ≥ 2,000/s), the p95 of 100
 * searches on it (goal < 50 ms) and of 100 month listings, and the index's size on disk
 * against the archive's.
 *
 * Issue 17's rows (bench/intake.ts, in its own child; `--intake` runs only them): one
 * `malist receive` per mail from the compiled build — wall, CPU and peak RSS, median of 25,
 * against `node -e 0` and malist's cost above it, the median of each round's difference
 * (the goal: ≤ 100 ms wall and CPU), with the configuration from receive's check cache as
 * every mail but the first after an edit has it; the same with no cache; the same on a site
 * of 50 lists; a bounce to 10,000 members inline and in a members file — and 1,000 posts
 * through the LMTP intake (`malist lmtp`), mails/s.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONNECTIONS } from '../src/smtp/server-options.ts';
import type { ArchiveCaseOutput } from './archive.ts';
import type { BounceCaseOutput } from './bounce.ts';
import type { CaseInput, CaseOutput } from './case.ts';
import { signCaseInChild, signCaseName, signCases } from './dkim-sign.ts';
import type { GuardsCaseOutput } from './guards.ts';
import type { IntakeCaseOutput, Sample } from './intake.ts';
import type { MembersSyncOutput } from './members-sync.ts';
import { mlmmjInstalled, runMlmmj } from './mlmmj.ts';
import { sinkFaults, writeInbox } from './post.ts';
import type { SesCaseOutput } from './ses.ts';
import { startSink } from './sink.ts';
import type { VerpCostOutput } from './verp-cost.ts';
import { webCase } from './web.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const quick = process.argv.includes('--quick');
const withMlmmj = !process.argv.includes('--no-mlmmj');
const withSigning = !process.argv.includes('--no-sign');
const withArchive = !process.argv.includes('--no-archive');
const signOnly = process.argv.includes('--sign') || process.argv.includes('--sign-queue');
/** `--sign-queue`: only the signed copies through the queue (not the raw signer's rows). */
const signQueueOnly = process.argv.includes('--sign-queue');
/** `--sign-filter TEXT`: only the queue's signed cases whose name has TEXT (and the unsigned ones). */
const signFilterAt = process.argv.indexOf('--sign-filter');
const signFilter = signFilterAt > 0 ? (process.argv[signFilterAt + 1] ?? '') : '';
const dirFlag = process.argv.indexOf('--dir');
/** Where inboxes, spools and state go (mlmmj's too). @default the system's temp directory */
const WORK_BASE = dirFlag > 0 ? resolvePath(process.argv[dirFlag + 1] ?? '.') : tmpdir();
/** What malist's bulk client opens by default: the raw ceiling uses the same number. */
const connectionsFor = (perTx: number) =>
  perTx === 1 ? DEFAULT_CONNECTIONS.verp : DEFAULT_CONNECTIONS.batched;
const PER_TX = 100;
const KB5 = 5 * 1024;

interface Row {
  case: string;
  engine:
    | 'malist'
    | 'mlmmj'
    | 'nodemailer'
    | 'bulk client'
    | 'sink ceiling'
    | 'malist signer'
    | 'malist archive'
    | 'malist serve';
  n: number;
  /** Recipients the sink accepted during the case. */
  accepted: number;
  wallMs: number;
  perSecond: number;
  maxRssKb?: number;
  /** This row's wall time ÷ the matching mlmmj row's. */
  vsMlmmj?: number;
  /** The sink's ceiling time for the same traffic ÷ this row's wall time. */
  ofCeiling?: number;
  note?: string;
}

const rows: Row[] = [];

/** The bounce parser on a 5 MB hostile DSN, in its own process (goal: < 1 s, < 50 MB). */
async function bounceCase(): Promise<Row> {
  const out = JSON.parse(await child(['bench/bounce.ts'], 120_000)) as BounceCaseOutput;
  return {
    case: '5 MB hostile DSN parsed (no closing boundary)',
    engine: 'malist',
    n: 1,
    accepted: 0,
    wallMs: out.firstMs,
    perSecond: 1000 / out.medianMs,
    note: `first parse ${out.firstMs.toFixed(0)} ms, median of 20 ${out.medianMs.toFixed(1)} ms; extra memory ${out.extraRssMb.toFixed(1)} MB; attributed to ${out.found}`,
  };
}
/** What VERP with cookies adds per recipient (the cookie, the sent index), in CPU time. */
async function verpCostCase(): Promise<Row> {
  const out = JSON.parse(await child(['bench/verp-cost.ts'], 120_000)) as VerpCostOutput;
  const perRecipientUs = out.senderCpuUs + out.indexCpuUs;
  return {
    case: 'VERP cookie + sent-index line per recipient (CPU, apart from SMTP)',
    engine: 'malist',
    n: out.members,
    accepted: 0,
    wallMs: (perRecipientUs * out.members) / 1000,
    perSecond: 1e6 / perRecipientUs,
    note: `sender with cookie ${out.senderCpuUs.toFixed(1)} µs, sent index ${out.indexCpuUs.toFixed(1)} µs CPU per recipient (of the 100 µs a recipient has at 10k/s); the index append ${out.indexWallMs.toFixed(0)} ms wall, ${Math.round(out.indexBytes / 1024)} KiB for the post`,
  };
}
if (process.argv.includes('--cookies')) {
  const row = await verpCostCase();
  process.stdout.write(`${row.case}: ${row.note}\n`);
  process.exit(0);
}
/** A row of an archive page served over HTTP: 100 requests' wall p50 and p95, the server's own p95. */
function pageRow(what: string, p50: number, p95: number, serverP95: number, cpuMean: number): Row {
  return {
    case: `archive ${what} over HTTP (malist serve), 100 requests`,
    engine: 'malist archive',
    n: 100,
    accepted: 100,
    wallMs: p95,
    perSecond: 1000 / p50,
    note: `p95 ${p95.toFixed(1)} ms (goal < 50 ms), p50 ${p50.toFixed(1)} ms, server time p95 ${serverP95.toFixed(1)} ms, server CPU ${cpuMean.toFixed(1)} ms a page (mean)`,
  };
}

/** Issue 21's rows: an archive of 100,000 posts imported, searched, listed by month and served. */
async function archiveRows(posts: number): Promise<Row[]> {
  process.stderr.write(
    `… archive: ${posts.toLocaleString('en')} posts imported, searched, listed\n`,
  );
  const out = JSON.parse(
    await child(['bench/archive.ts', String(posts), WORK_BASE], 1_800_000),
  ) as ArchiveCaseOutput;
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
  const cpuShare = ((out.importCpuMs / out.importMs) * 100).toFixed(0);
  const p = out.pages;
  return [
    {
      case: 'archive import, generated list history (mbox)',
      engine: 'malist archive',
      n: out.posts,
      accepted: out.posts,
      wallMs: out.importMs,
      perSecond: (out.posts / out.importMs) * 1000,
      maxRssKb: out.maxRssMb * 1024,
      note: `posts/s (goal ≥ 2,000); CPU ${out.importCpuMs.toFixed(0)} ms (${cpuShare}% of wall); source ${mb(out.sourceBytes)}`,
    },
    {
      case: 'archive search, 100 queries (words, phrases, prefixes, filters)',
      engine: 'malist archive',
      n: 100,
      accepted: 100,
      wallMs: out.searchP95,
      perSecond: 1000 / out.searchP50,
      note: `p95 ${out.searchP95.toFixed(1)} ms (goal < 50 ms), p50 ${out.searchP50.toFixed(1)} ms, max ${out.searchMax.toFixed(1)} ms, CPU p95 ${out.searchCpuP95.toFixed(1)} ms`,
    },
    {
      case: 'archive month listing (threads collapsed, counts), 100 months',
      engine: 'malist archive',
      n: 100,
      accepted: 100,
      wallMs: out.monthP95,
      perSecond: 1000 / out.monthP50,
      note: `p95 ${out.monthP95.toFixed(1)} ms, p50 ${out.monthP50.toFixed(1)} ms (the query under the month page)`,
    },
    pageRow('month page', p.monthP50, p.monthP95, p.monthServerP95, p.monthCpuMean),
    pageRow('search page', p.searchP50, p.searchP95, p.searchServerP95, p.searchCpuMean),
    {
      case: 'archive server RSS after the pages (malist serve)',
      engine: 'malist archive',
      n: 200,
      accepted: 200,
      wallMs: 0,
      perSecond: 0,
      maxRssKb: out.pages.peakRssMb * 1024,
      note: `RSS ${out.pages.rssMb.toFixed(0)} MB, peak ${out.pages.peakRssMb.toFixed(0)} MB (goal < 150 MB; ${out.pages.compiled ? 'compiled build' : 'sources through tsx: the build was not current'})`,
    },
    {
      case: 'archive index size on disk',
      engine: 'malist archive',
      n: out.posts,
      accepted: out.posts,
      wallMs: 0,
      perSecond: 0,
      note: `index ${mb(out.indexBytes)} for an archive of ${mb(out.archiveBytes)} (${((out.indexBytes / out.archiveBytes) * 100).toFixed(0)}%)`,
    },
  ];
}
if (process.argv.includes('--archive')) {
  for (const row of await archiveRows(100_000)) {
    const rate = row.perSecond ? `${Math.round(row.perSecond)}/s, ` : '';
    process.stdout.write(`${row.case}: ${rate}${row.note}\n`);
  }
  process.exit(0);
}
/** Issue 16: sanity, automated and 40 header rules on the corpus and on a hostile post. */
async function guardsCases(): Promise<Row[]> {
  const out = JSON.parse(await child(['bench/guards.ts'], 600_000)) as GuardsCaseOutput;
  return [
    {
      case: `sanity + automated + 40 header rules, ${out.files} real messages`,
      engine: 'malist',
      n: out.files,
      accepted: 0,
      wallMs: (out.files * 1000) / out.mailsPerSecond,
      perSecond: out.mailsPerSecond,
      note: `mails/s through the three gates (RE2 patterns, some catastrophic for backtracking engines); extra memory ${out.extraRssMb.toFixed(1)} MB`,
    },
    {
      case: `the same gates, a ${out.hostileMb.toFixed(1)} MB post of 1,000 parts with 8 KB headers`,
      engine: 'malist',
      n: 1,
      accepted: 0,
      wallMs: out.hostileFirstMs,
      perSecond: 1000 / out.hostileMedianMs,
      note: `first ${out.hostileFirstMs.toFixed(0)} ms, median of 3 ${out.hostileMedianMs.toFixed(0)} ms (each rule reads at most 64 KB of header text; what it cannot read counts as a match)`,
    },
  ];
}
/** Issue 17: `malist members sync` of a 10,000-member list against a 10,000-line file. */
async function membersRows(): Promise<Row[]> {
  const out = JSON.parse(await child(['bench/members-sync.ts'], 900_000)) as MembersSyncOutput;
  return out.rows.map((r) => ({
    case: `members sync${r.dryRun ? ' --dry-run' : ''}, ${out.members.toLocaleString('en')} members (${r.store === 'yaml' ? 'inline in the list YAML' : 'members_file, one a line'}) against a ${out.members.toLocaleString('en')}-line CSV`,
    engine: 'malist',
    n: out.members,
    accepted: 0,
    wallMs: r.medianMs,
    perSecond: (out.members * 1000) / r.medianMs,
    note: `whole command (new process, config loaded; goal: under 2 s on an idle machine); median of 3, best ${(r.bestMs / 1000).toFixed(2)} s, CPU ${(r.cpuMedianMs / 1000).toFixed(2)} s (the same command on 100 members: ${(out.baselineCpuMs / 1000).toFixed(2)} s); ${r.diff}; load ${out.load.toFixed(1)} on ${out.cores} cores`,
  }));
}
if (process.argv.includes('--members')) {
  for (const row of await membersRows())
    process.stdout.write(`${row.case}: wall ${(row.wallMs / 1000).toFixed(2)} s; ${row.note}\n`);
  process.exit(0);
}
if (process.argv.includes('--guards')) {
  for (const row of await guardsCases())
    process.stdout.write(`${row.case}: ${row.perSecond.toFixed(1)}/s; ${row.note}\n`);
  process.exit(0);
}
if (process.argv.includes('--web')) {
  const out = await webCase({ fromSource: process.argv.includes('--from-source') });
  for (const p of out.pages)
    process.stdout.write(
      `web ${p.page} (${out.members.toLocaleString('en')} members, ${out.held} held, ${out.runs}): server time p50 ${p.p50.toFixed(1)} ms, p95 ${p.p95.toFixed(1)} ms (goal < 50 ms)\n`,
    );
  process.stdout.write(
    `web: malist serve (${out.runs}) RSS after ${out.rssMb.toFixed(0)} MB, peak ${out.peakRssMb.toFixed(0)} MB (goal < 120 MB)\n`,
  );
  process.exit(0);
}
/** Issue 23: 10,000 VERP copies through the queue and the SES transport to the fake SES. */
async function sesCase(): Promise<Row> {
  const out = JSON.parse(await child(['bench/ses.ts', '10000'], 1_200_000)) as SesCaseOutput;
  return {
    case: '5 KB post, VERP through the queue, SES transport to the fake SES (a call per copy)',
    engine: 'malist',
    n: out.copies,
    accepted: out.delivered,
    wallMs: out.wallMs,
    perSecond: out.perSecond,
    maxRssKb: out.maxRssMb * 1024,
    note: `copies/s; CPU ${(out.cpuMs / out.copies).toFixed(2)} ms a call (SigV4, base64, JSON, fetch); 16 calls in flight; the fake verifies SigV4 in another process`,
  };
}
if (process.argv.includes('--ses')) {
  const row = await sesCase();
  process.stdout.write(
    `${row.case}: ${Math.round(row.perSecond)} copies/s, ${(row.wallMs / 1000).toFixed(1)} s, peak RSS ${((row.maxRssKb ?? 0) / 1024).toFixed(0)} MB; ${row.note}\n`,
  );
  process.exit(0);
}
if (process.argv.includes('--bounce')) {
  const row = await bounceCase();
  process.stdout.write(`${row.case}: ${row.note}\n`);
  process.exit(0);
}
const ceilings = new Map<string, number>();
const mlmmjWalls = new Map<string, number>();
const sink = await startSink();
const log = (s: string) => process.stderr.write(`${s}\n`);

/** The median of the samples, field by field. */
function median(samples: Sample[]): Sample {
  const mid = (key: keyof Sample) => {
    const sorted = samples.map((x) => x[key]).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  return { wallMs: mid('wallMs'), cpuMs: mid('cpuMs'), maxRssKb: mid('maxRssKb') };
}

/**
 * The median of `a[i] − b[i]`: samples taken in the same round, so the machine's drift from
 * minute to minute (`node -e 0` moves 96–148 ms here) cancels, where a difference of two
 * medians keeps it.
 */
function pairedAbove(a: Sample[], b: Sample[]): Sample {
  return median(
    a.map((x, i) => ({
      wallMs: x.wallMs - b[i]!.wallMs,
      cpuMs: x.cpuMs - b[i]!.cpuMs,
      maxRssKb: x.maxRssKb - b[i]!.maxRssKb,
    })),
  );
}

/** Issue 17: a `malist receive` process per mail against Node alone, and the LMTP intake. */
async function intakeRows(mails: number): Promise<Row[]> {
  sink.configure({});
  sink.reset();
  const work = await mkdtemp(join(WORK_BASE, 'malist-bench-intake-'));
  try {
    const out = JSON.parse(
      await child(['bench/intake.ts', String(sink.port), work, String(mails)], 1_800_000),
    ) as IntakeCaseOutput;
    const r = median(out.receive);
    const c = median(out.checkout);
    const s = median(out.site);
    const inline = median(out.inline);
    const filed = median(out.filed);
    const n = median(out.node);
    const above = pairedAbove(out.receive, out.node);
    const cold = median(out.cold);
    const coldAbove = pairedAbove(out.cold, out.node);
    const lmtpCpu =
      out.lmtp.cpuMs === undefined
        ? ''
        : `; server CPU ${(out.lmtp.cpuMs / out.lmtp.mails).toFixed(1)} ms per mail`;
    return [
      {
        case: '`malist receive`, a 5 KB post to 10 members (compiled build, as installed), per mail',
        engine: 'malist',
        n: out.receive.length,
        accepted: 0,
        wallMs: r.wallMs,
        perSecond: 1000 / r.wallMs,
        maxRssKb: r.maxRssKb,
        note: `median of ${out.receive.length}: wall ${r.wallMs.toFixed(0)} ms, CPU ${r.cpuMs.toFixed(0)} ms; node -e 0: wall ${n.wallMs.toFixed(0)} ms, CPU ${n.cpuMs.toFixed(0)} ms, ${Math.round(n.maxRssKb / 1024)} MB; malist above node, the median of the ${out.receive.length} rounds' differences: wall ${above.wallMs.toFixed(0)} ms, CPU ${above.cpuMs.toFixed(0)} ms (goal ≤ 100 ms each; the difference of the medians: wall ${(r.wallMs - n.wallMs).toFixed(0)} ms, CPU ${(r.cpuMs - n.cpuMs).toFixed(0)} ms; the configuration from the check cache, which the first mail filled); from a checkout (bin/malist.js checks src/ first): wall ${c.wallMs.toFixed(0)} ms, CPU ${c.cpuMs.toFixed(0)} ms, ${Math.round(c.maxRssKb / 1024)} MB`,
      },
      {
        case: '`malist receive`, the same post with no check cache (the first mail after an edit), per mail',
        engine: 'malist',
        n: out.cold.length,
        accepted: 0,
        wallMs: cold.wallMs,
        perSecond: 1000 / cold.wallMs,
        maxRssKb: cold.maxRssKb,
        note: `median of ${out.cold.length}: wall ${cold.wallMs.toFixed(0)} ms, CPU ${cold.cpuMs.toFixed(0)} ms; above node, the median of the rounds' differences: wall ${coldAbove.wallMs.toFixed(0)} ms, CPU ${coldAbove.cpuMs.toFixed(0)} ms (MALIST_CACHE_DIR=none: both files parsed, every option checked, the YAML package loaded)`,
      },
      {
        case: '`malist receive`, the same post on a site of 50 lists (`--recipient`), per mail',
        engine: 'malist',
        n: out.site.length,
        accepted: 0,
        wallMs: s.wallMs,
        perSecond: 1000 / s.wallMs,
        maxRssKb: s.maxRssKb,
        note: `median of ${out.site.length}: wall ${s.wallMs.toFixed(0)} ms, CPU ${s.cpuMs.toFixed(0)} ms; above the one-list site: wall ${(s.wallMs - r.wallMs).toFixed(0)} ms, CPU ${(s.cpuMs - r.cpuMs).toFixed(0)} ms (receive reads only the lists the recipient could be)`,
      },
      {
        case: '`malist receive`, a bounce to a list of 10,000 members written in its YAML, per mail',
        engine: 'malist',
        n: out.inline.length,
        accepted: 0,
        wallMs: inline.wallMs,
        perSecond: 1000 / inline.wallMs,
        maxRssKb: inline.maxRssKb,
        note: `median of ${out.inline.length}: wall ${inline.wallMs.toFixed(0)} ms, CPU ${inline.cpuMs.toFixed(0)} ms; the same members in a members file: wall ${filed.wallMs.toFixed(0)} ms, CPU ${filed.cpuMs.toFixed(0)} ms, ${Math.round(filed.maxRssKb / 1024)} MB (from the check cache: the list's YAML is parsed by the first mail after an edit, not by each)`,
      },
      {
        case: `LMTP intake (\`malist lmtp\`), ${out.lmtp.mails.toLocaleString('en')} 5 KB posts to 10 members`,
        engine: 'malist',
        n: out.lmtp.mails,
        accepted: sink.stats.recipients,
        wallMs: out.lmtp.wallMs,
        perSecond: (out.lmtp.mails / out.lmtp.wallMs) * 1000,
        ...(out.lmtp.maxRssKb ? { maxRssKb: out.lmtp.maxRssKb } : {}),
        note: `mails/s over ${out.lmtp.connections} LMTP connections, one process${lmtpCpu}`,
      },
    ];
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
if (process.argv.includes('--pg')) {
  // The queue on PostgreSQL: VERP fan-out by 1, 2 and 4 worker processes, files beside it.
  const { pgFanoutRows } = await import('./pg-workers.ts');
  const n = quick ? 5_000 : 20_000;
  const flag = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const fanout = {
    ...(flag('--pg-batch') ? { batch: flag('--pg-batch') } : {}),
    ...(flag('--pg-connections') ? { connections: flag('--pg-connections') } : {}),
  };
  process.stdout.write(
    `load before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
  const fanoutRows = await pgFanoutRows(sink, n, fanout);
  // The same with the knobs that cut PostgreSQL's commits a recipient: more SMTP
  // connections a worker (bigger group commits of the sent-log) and bigger claims.
  if (!fanout.batch && !fanout.connections)
    fanoutRows.push(...(await pgFanoutRows(sink, n, { batch: 500, connections: 32 })));
  for (const row of fanoutRows)
    process.stdout.write(
      `${row.case}: ${Math.round(row.perSecond)} rcpt/s (${row.n} in ${(row.wallMs / 1000).toFixed(2)} s); RSS ${row.rssMb.join('/')} MB; CPU µs a recipient: workers ${row.cpuUs.workers}, PostgreSQL ${row.cpuUs.postgres}, sink ${row.cpuUs.sink}${row.commits !== undefined ? `; a recipient: ${row.commits} commits, ${row.walSyncs} WAL syncs` : ''}; load ${row.load}; ${row.note}\n`,
    );
  const { pgIntakeTable } = await import('./pg-intake.ts');
  process.stdout.write(`\nJournal intake, 1,000 posts:\n${await pgIntakeTable(1000)}`);
  const { millionRows } = await import('./pg-million.ts');
  const members = quick ? 100_000 : 1_000_000;
  process.stdout.write(`\nA ${members.toLocaleString('en')}-member list:\n`);
  for (const row of await millionRows(members))
    process.stdout.write(
      `${row.backend}, ${row.step}: ${(row.wallMs / 1000).toFixed(1)} s wall, ${(row.cpuMs / 1000).toFixed(1)} s CPU, peak RSS ${row.rssMb} MB, load ${row.load}; ${row.out}\n`,
    );
  // Bounce intake: DSNs to VERP addresses through the bounce handler, files against PostgreSQL.
  const { pgBounceRows } = await import('./pg-bounces.ts');
  for (const row of await pgBounceRows(quick ? 500 : 2000))
    process.stdout.write(
      `${row.case}: ${Math.round(row.perSecond)} DSNs/s (${row.n} in ${(row.wallMs / 1000).toFixed(2)} s); ${row.note}\n`,
    );
  // The archive: files + SQLite FTS5 against PostgreSQL rows + tsvector.
  const { pgArchiveRows, describePgArchiveRow } = await import('./pg-archive.ts');
  for (const row of await pgArchiveRows(quick ? 1000 : 5000))
    process.stdout.write(describePgArchiveRow(row));
  process.stdout.write(
    `load after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
  await sink.close();
  process.exit(0);
}
if (process.argv.includes('--intake')) {
  process.stdout.write(
    `load before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
  for (const row of await intakeRows(1000))
    process.stdout.write(
      `${row.case}: ${row.perSecond.toFixed(1)}/s; ${row.note}${row.maxRssKb ? `; peak RSS ${Math.round(row.maxRssKb / 1024)} MB` : ''}\n`,
    );
  process.stdout.write(
    `load after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
  await sink.close();
  process.exit(0);
}

/**
 * Runs a child: a `.ts` script through tsx, a `.js` one (malist's compiled build, what
 * `bin/malist.js` runs) as it is.
 */
function child(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const loader = args[0]?.endsWith('.ts') ? ['--import', 'tsx'] : [];
    // BENCH_NODE_ARGS: node flags for the cases' children (a diagnostic, e.g. `--cpu-prof
    // --cpu-prof-dir=/tmp/prof`: the signing threads inherit them and write their own profiles).
    const extra = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const proc = spawn(process.execPath, [...extra, ...loader, ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('error', reject);
    proc.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.trim().split('\n').pop() ?? '');
      else reject(new Error(`${args.join(' ')} exited with ${code}`));
    });
  });
}

async function ceiling(n: number, perTx: number, bodyBytes: number): Promise<number> {
  const key = `${n}/${perTx}/${bodyBytes}`;
  const connections = perTx === n ? 1 : connectionsFor(perTx);
  const known = ceilings.get(key);
  if (known !== undefined) return known;
  sink.configure({});
  sink.reset();
  const out = JSON.parse(
    await child(
      ['bench/blaster.ts', ...[sink.port, n, perTx, connections, bodyBytes].map(String)],
      600_000,
    ),
  ) as { ms: number };
  if (sink.stats.recipients !== n)
    throw new Error(`ceiling ${key}: sink got ${sink.stats.recipients}/${n}`);
  ceilings.set(key, out.ms);
  const name = perTx === 1 ? 'per-recipient' : `${perTx} RCPT/transaction`;
  rows.push({
    case: `raw ${name}, ${size(bodyBytes)}`,
    engine: 'sink ceiling',
    n,
    accepted: sink.stats.recipients,
    wallMs: out.ms,
    perSecond: (n / out.ms) * 1000,
    note: `${connections} connection(s), fully pipelined`,
  });
  return out.ms;
}

function size(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MB` : `${Math.round(bytes / 1024)} KB`;
}

/** The last malist case's output (its CPU times). */
let lastOut: CaseOutput | undefined;

async function malist(
  name: string,
  input: Omit<CaseInput, 'port' | 'perTransaction'>,
  compare: { mlmmj?: string; ceiling: [number, number, number] },
  engine: Row['engine'] = 'malist',
): Promise<CaseOutput> {
  const ceilingMs = await ceiling(...compare.ceiling);
  sink.configure(input.faults ? sinkFaults : {});
  sink.reset();
  log(`… ${name}`);
  const work = await mkdtemp(join(WORK_BASE, 'malist-bench-inbox-'));
  let out: CaseOutput;
  try {
    const full: CaseInput = {
      ...input,
      port: sink.port,
      workDir: WORK_BASE,
      // The engine's default unless the case sets one (nodemailer: the VERP default, the
      // same connections as malist's VERP rows).
      ...(input.connections
        ? { connections: input.connections }
        : input.kind === 'nodemailer'
          ? { connections: connectionsFor(input.verp ? 1 : PER_TX) }
          : {}),
      perTransaction: PER_TX,
      ...(input.kind === 'play'
        ? { inbox: await writeInbox(work, input.posts ?? 1, input.bodyBytes) }
        : {}),
    };
    out = JSON.parse(
      await child(['bench/dist/bench/case.js', JSON.stringify(full)], 900_000),
    ) as CaseOutput;
    lastOut = out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const accepted = sink.stats.recipients;
  const end = input.faults ? out.t1 : Math.max(sink.stats.lastAcceptAt, out.t1);
  const wallMs = end - out.t0;
  const n = input.members * (input.posts ?? 1);
  const mlmmjWall = compare.mlmmj ? mlmmjWalls.get(compare.mlmmj) : undefined;
  const notes: string[] = [];
  if (input.posts) notes.push(`${((input.posts / wallMs) * 1000).toFixed(0)} posts/s`);
  if (input.faults) {
    notes.push(
      `first round: ${out.delivered} delivered, ${out.failed} refused (dead letters: ${out.dead}), ` +
        `${out.deferred} deferred; retry run: ${out.retried} delivered in ` +
        `${((out.t2 ?? out.t1) - out.t1).toFixed(0)} ms, ${out.stillDeferred} still deferred`,
    );
  }
  rows.push({
    case: name,
    engine,
    n,
    accepted,
    wallMs,
    perSecond: (accepted / wallMs) * 1000,
    maxRssKb: out.maxRssKb,
    ...(mlmmjWall ? { vsMlmmj: wallMs / mlmmjWall } : {}),
    ofCeiling: ceilingMs / wallMs,
    ...(notes.length ? { note: notes.join('; ') } : {}),
  });
  return out;
}

/**
 * Issue 19's rows: personalised copies signed, each case in a child of the compiled build
 * (its RSS its own; the worker pool runs dist/src/auth/signer-worker.js, as `malist` would).
 */
async function signing(copies: number): Promise<void> {
  for (const input of signCases(copies)) {
    const name = signCaseName(input);
    log(`… ${name}`);
    const out = await signCaseInChild(join(root, 'bench', 'dist', 'bench', 'dkim-sign.js'), input);
    const cpuMs = (out.cpuUserMs + out.cpuSysMs) / out.copies;
    rows.push({
      case: name,
      engine: 'malist signer',
      n: out.copies,
      accepted: out.copies,
      wallMs: out.ms,
      perSecond: out.perSecond,
      maxRssKb: out.maxRssKb,
      note: `copies/s; CPU ${cpuMs.toFixed(2)} ms a copy (all threads)`,
    });
  }
}

/** The sending process's CPU (every thread) a copy, and the load average, in a row's note. */
function cpuNote(row: Row | undefined, out: CaseOutput | undefined): void {
  if (!row || !out || out.cpuUserMs === undefined) return;
  const cpu = (out.cpuUserMs + (out.cpuSysMs ?? 0)) / row.n;
  row.note = `${row.note ? `${row.note}; ` : ''}CPU ${cpu.toFixed(3)} ms a copy (sending process, all threads), load ${loadavg()[0]!.toFixed(1)}`;
}

/** Issue 19's rows through the queue: signed copies against the same copies unsigned. */
async function signedThroughQueue(): Promise<void> {
  const base = { kind: 'play' as const, members: 10_000, bodyBytes: KB5 };
  const personal = { ...base, verp: true, personal: true };
  const vs = (row: Row | undefined) => (row ? row.wallMs : 0);
  await malist('10,000 personal copies (one-click URL), unsigned', personal, {
    ceiling: [10_000, 1, KB5],
  });
  const plainRow = rows.at(-1);
  cpuNote(plainRow, lastOut);
  for (const [algorithm, selfCheck, threads] of [
    ['rsa-sha256', true, 0],
    ['rsa-sha256', false, 0],
    ['rsa-sha256', true, 1],
    ['rsa-sha256', true, 2],
    ['rsa-sha256', false, 2],
    ['ed25519-sha256', true, 0],
    ['ed25519-sha256', false, 0],
    ['ed25519-sha256', true, 1],
    ['ed25519-sha256', true, 2],
  ] as const) {
    const where = threads ? `, ${threads} signing thread${threads > 1 ? 's' : ''}` : '';
    const name = `10,000 personal copies signed ${algorithm}${algorithm === 'rsa-sha256' ? ' 2048' : ''}, self-check ${selfCheck ? 'on' : 'off'}${where}`;
    if (!name.includes(signFilter)) continue;
    await malist(
      name,
      { ...personal, sign: { algorithm, selfCheck, threads } },
      { ceiling: [10_000, 1, KB5] },
    );
    const row = rows.at(-1)!;
    cpuNote(row, lastOut);
    row.note = `${row.note ? `${row.note}; ` : ''}${((row.wallMs / vs(plainRow) - 1) * 100).toFixed(0)}% over unsigned`;
  }
  const batched = { ...base, verp: false, posts: 20, members: 1_000 };
  await malist('20 posts × 1,000 members, batched, unsigned', batched, {
    ceiling: [20_000, PER_TX, KB5],
  });
  const unsigned = rows.at(-1);
  cpuNote(unsigned, lastOut);
  for (const algorithm of ['rsa-sha256', 'ed25519-sha256'] as const) {
    if (signFilter && !'batched'.includes(signFilter)) continue;
    await malist(
      `20 posts × 1,000 members, batched, signed ${algorithm}${algorithm === 'rsa-sha256' ? ' 2048' : ''} + self-check`,
      { ...batched, sign: { algorithm, selfCheck: true, threads: 0 } },
      { ceiling: [20_000, PER_TX, KB5] },
    );
    const row = rows.at(-1)!;
    cpuNote(row, lastOut);
    row.note = `${row.note ? `${row.note}; ` : ''}${((row.wallMs / vs(unsigned) - 1) * 100).toFixed(1)}% over unsigned`;
  }
}

async function mlmmj(key: string, name: string, n: number, batched: boolean, faults = false) {
  sink.configure(faults ? sinkFaults : {});
  sink.reset();
  log(`… ${name}`);
  const run = await runMlmmj({
    port: sink.port,
    members: n,
    batched,
    bodyBytes: KB5,
    faults,
    workDir: WORK_BASE,
    timeoutMs: 600_000,
  });
  const end = sink.stats.lastAcceptAt || run.exitAt;
  const wallMs = end - run.t0;
  mlmmjWalls.set(key, wallMs);
  rows.push({
    case: name,
    engine: 'mlmmj',
    n,
    accepted: sink.stats.recipients,
    wallMs,
    perSecond: (sink.stats.recipients / wallMs) * 1000,
    ...(run.maxRssKb !== undefined ? { maxRssKb: run.maxRssKb } : {}),
    note: `exit ${run.exitCode}, ${sink.stats.connections} connections${
      faults ? `, ${n - sink.stats.recipients} members not delivered` : ''
    }`,
  });
}

/**
 * What the spool's disk costs now: the mean fsync of a small append, and the mean time to
 * create (and close) a new file, in ms. On this machine's ext4 a new inode has been seen to
 * cost from 0.02 ms to 1 ms of kernel time depending on the directory it is made in; a
 * post makes five (journal record, spool entry directory, message, envelope, sent-log).
 */
async function diskMs(): Promise<{ fsync: number; create: number }> {
  const dir = await mkdtemp(join(WORK_BASE, 'malist-bench-disk-'));
  const handle = await open(join(dir, 'probe'), 'a');
  let started = performance.now();
  for (let i = 0; i < 50; i++) {
    await handle.write('x\n');
    await handle.sync();
  }
  const fsync = (performance.now() - started) / 50;
  await handle.close();
  started = performance.now();
  for (let i = 0; i < 200; i++) await (await open(join(dir, `f${i}`), 'wx')).close();
  const create = (performance.now() - started) / 200;
  await rm(dir, { recursive: true, force: true });
  return { fsync, create };
}

const load = loadavg();
const diskAtStart = await diskMs();
const started = new Date().toISOString();
const sizes = quick ? [1_000, 10_000] : [1_000, 10_000, 100_000];

let nodemailerRow = -1;
if (!signOnly) {
  if (withMlmmj && mlmmjInstalled()) {
    for (const n of sizes) await mlmmj(`b${n}`, `5 KB post, batched (100/transaction)`, n, true);
    await mlmmj('f10000', '5 KB post, batched, 1% 550 + 1% 451', 10_000, true, true);
    if (!quick) await mlmmj('v1000', '5 KB post, per-recipient (mlmmj default)', 1_000, false);
  } else {
    log(
      withMlmmj
        ? '!!! mlmmj is not installed (apt-get install mlmmj): the mlmmj columns are empty'
        : '!!! --no-mlmmj: the mlmmj columns are empty',
    );
  }

  for (const n of sizes) {
    await malist(
      '5 KB post, batched (100/transaction)',
      { kind: 'play', members: n, verp: false, bodyBytes: KB5 },
      { mlmmj: `b${n}`, ceiling: [n, PER_TX, KB5] },
    );
  }
  for (const n of sizes) {
    await malist(
      '5 KB post, VERP (1/transaction)',
      { kind: 'play', members: n, verp: true, bodyBytes: KB5 },
      { mlmmj: `v${n}`, ceiling: [n, 1, KB5] },
    );
  }
  // Through the queue, a connection sends its next message only once the previous 250 is
  // in the sent-log (fsynced): VERP is bound by connections ÷ (round trip + fsync), so half
  // the connections shows how much of the limit is the disk's.
  await malist(
    `5 KB post, VERP, 8 connections (default ${DEFAULT_CONNECTIONS.verp})`,
    { kind: 'play', members: 10_000, verp: true, bodyBytes: KB5, connections: 8 },
    { ceiling: [10_000, 1, KB5] },
  );
  // Diagnostics, not durable: the same cases with the spool and journal on tmpfs, where
  // fsync costs nothing, to tell the disk's latency from the engine's own cost.
  if (existsSync('/dev/shm')) {
    await malist(
      '5 KB post, VERP, spool on tmpfs (diagnostic, not durable)',
      { kind: 'play', members: 10_000, verp: true, bodyBytes: KB5, tmpfs: true },
      { ceiling: [10_000, 1, KB5] },
    );
    await malist(
      '1,000 posts, 10 members, spool on tmpfs (diagnostic, not durable)',
      { kind: 'play', members: 10, posts: 1_000, verp: false, bodyBytes: KB5, tmpfs: true },
      { ceiling: [10_000, 10, KB5] },
    );
  }
  await malist(
    '5 KB post, batched, 1% 550 + 1% 451',
    { kind: 'play', members: 10_000, verp: false, bodyBytes: KB5, faults: true },
    { mlmmj: 'f10000', ceiling: [10_000, PER_TX, KB5] },
  );
  await malist(
    '5 KB post, VERP, 1% 550 + 1% 451',
    { kind: 'play', members: 10_000, verp: true, bodyBytes: KB5, faults: true },
    { ceiling: [10_000, 1, KB5] },
  );
  await malist(
    'VERP, same messages, no queue',
    { kind: 'bulk', members: 10_000, verp: true, bodyBytes: KB5 },
    { ceiling: [10_000, 1, KB5] },
    'bulk client',
  );
  nodemailerRow = rows.length;
  await malist(
    'VERP, same messages, no queue',
    { kind: 'nodemailer', members: 10_000, verp: true, bodyBytes: KB5 },
    { ceiling: [10_000, 1, KB5] },
    'nodemailer',
  );
  await malist(
    '1 MB post, VERP (bandwidth)',
    { kind: 'play', members: 10_000, verp: true, bodyBytes: 1024 * 1024 },
    { ceiling: [10_000, 1, 1024 * 1024] },
  );
  await malist(
    '20 MB post, batched (memory)',
    { kind: 'play', members: 100, verp: false, bodyBytes: 20 * 1024 * 1024 },
    { ceiling: [100, PER_TX, 20 * 1024 * 1024] },
  );
  await malist(
    '20 MB post, VERP (memory)',
    { kind: 'play', members: 100, verp: true, bodyBytes: 20 * 1024 * 1024 },
    { ceiling: [100, 1, 20 * 1024 * 1024] },
  );
  await malist(
    '1,000 posts from a maildir, 10 members (per post)',
    { kind: 'play', members: 10, posts: 1_000, verp: false, bodyBytes: KB5 },
    { ceiling: [10_000, 10, KB5] },
  );
  rows.push(...(await intakeRows(1000)));
  rows.push(await bounceCase());
  rows.push(await verpCostCase());
  rows.push(...(await guardsCases()));
  rows.push(...(await membersRows()));
  rows.push(await sesCase());
  // The reference shape from the issue: one transaction carrying every RCPT.
  await ceiling(10_000, 10_000, KB5);
}
if (withSigning || signOnly) {
  await signedThroughQueue();
  if (!signQueueOnly) await signing(10_000);
}
if (withArchive && !signOnly) rows.push(...(await archiveRows(100_000)));
if (!signOnly) {
  // The web pages of a 100,000-member list (issue 20), `malist serve` in its own process.
  const web = await webCase();
  for (const p of web.pages)
    rows.push({
      case: `web page ${p.page} (${web.members.toLocaleString('en')} members, ${web.held} held)`,
      engine: 'malist serve',
      n: 200,
      accepted: 0,
      wallMs: p.p95,
      perSecond: 1000 / Math.max(p.p50, 0.001),
      maxRssKb: web.peakRssMb * 1024,
      note: `wall is the p95 server time, /s requests per second at p50; ${web.runs}: server time p50 ${p.p50.toFixed(1)} ms, p95 ${p.p95.toFixed(1)} ms (goal < 50 ms); RSS after ${web.rssMb.toFixed(0)} MB (goal < 120 MB)`,
    });
}
await sink.close();

const nodemailer = rows[nodemailerRow];
const verp10k = rows.find(
  (r) => r.engine === 'malist' && r.case.startsWith('5 KB post, VERP (') && r.n === 10_000,
);
const table = [
  '| case | engine | N | accepted | wall | recipients/s | peak RSS | ÷ mlmmj time | % of sink ceiling | note |',
  '|---|---|--:|--:|--:|--:|--:|--:|--:|---|',
  ...rows
    .map((r) =>
      [
        r.case,
        r.engine,
        r.n.toLocaleString('en'),
        r.accepted.toLocaleString('en'),
        r.wallMs >= 1000 ? `${(r.wallMs / 1000).toFixed(2)} s` : `${r.wallMs.toFixed(1)} ms`,
        Math.round(r.perSecond).toLocaleString('en'),
        r.maxRssKb ? `${(r.maxRssKb / 1024).toFixed(0)} MB` : '',
        r.vsMlmmj ? `1/${(1 / r.vsMlmmj).toFixed(1)}` : '',
        r.ofCeiling ? `${(r.ofCeiling * 100).toFixed(0)}%` : '',
        r.note ?? '',
      ].join(' | '),
    )
    .map((line) => `| ${line} |`),
];
const summary =
  nodemailer && verp10k
    ? `malist VERP at 10,000 through the queue: ${Math.round(verp10k.perSecond)} recipients/s, ` +
      `${(verp10k.perSecond / nodemailer.perSecond).toFixed(1)}× nodemailer's pool without a queue.`
    : '';
const diskAtEnd = await diskMs();
const header = `Run ${started}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), Node ${process.version}, load average at start ${load.map((l) => l.toFixed(2)).join(' ')}, at end ${loadavg()
  .map((l) => l.toFixed(2))
  .join(
    ' ',
  )}; work in ${WORK_BASE}: fsync of a small append ${diskAtStart.fsync.toFixed(2)} ms at start, ${diskAtEnd.fsync.toFixed(2)} ms at end; a new file ${diskAtStart.create.toFixed(2)} ms at start, ${diskAtEnd.create.toFixed(2)} ms at end.`;
const markdown = `${header}\n\n${table.join('\n')}\n\n${summary}\n`;
process.stdout.write(`\n${markdown}`);
const results = join(here, 'results');
await mkdir(results, { recursive: true });
await writeFile(
  join(results, 'latest.json'),
  `${JSON.stringify({ started, cpus: cpus().length, node: process.version, loadavg: { start: load, end: loadavg() }, workDir: WORK_BASE, diskMs: { start: diskAtStart, end: diskAtEnd }, rows }, null, 2)}\n`,
);
await writeFile(join(results, 'latest.md'), markdown);
