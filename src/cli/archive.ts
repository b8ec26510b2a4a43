/**
 * `malist archive`: a list's archive (the `archive` distributor's monthly mbox or maildir
 * files and their index) from the command line.
 *
 * - `export --list NAME`: the archive as one mbox on stdout or in a file;
 * - `reindex [--list NAME]`: the index rebuilt from the files (the files are the truth);
 * - `import --list NAME FILE|DIR`: history from Mailman 2 (pipermail), HyperKitty or mlmmj,
 *   or any mbox or maildir, into the archive; posts it holds already (by Message-ID) are
 *   skipped;
 * - `search [--list NAME] QUERY`: the search the archive pages run, as text or JSON lines.
 *
 * With `storage: {type: postgres}` in malist.yaml the archive is the database's rows
 * (archive/pg-store.ts): export, import and search work on them, and reindex has nothing to
 * rebuild. `--dir` always means the files at DIR.
 */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ArchiveIndex } from '../archive/db.ts';
import { exportArchive } from '../archive/export.ts';
import { importArchive, importIntoStore } from '../archive/import.ts';
import type { ArchiveFormat } from '../archive/paths.ts';
import type { PgArchive } from '../archive/pg-store.ts';
import { type ArchiveStore, openFilesArchive } from '../archive/store.ts';
import { reindex } from '../archive/sync.ts';
import { archiveDirOf, archiveFormatOf } from '../config/archive.ts';
import { openConfig, printProblems } from '../config/open.ts';
import { archiveRowsFor } from '../config/storage.ts';
import { describeError, ErrorCode, StageError } from '../errors.ts';
import { EX } from './exit-codes.ts';

export const usage = `usage: malist archive export --list NAME [options]
       malist archive reindex [--list NAME] [options]
       malist archive import --list NAME FILE.mbox|FILE.mbox.gz|MAILDIR|MLMMJ-LIST-DIR [options]
       malist archive search [--list NAME] [--from WHO] [--after DATE] [--before DATE] QUERY

options:
  --dir DIR       the archive root (default: the archive distributor's dir, else STATE_DIR/archive)
  --from YYYY-MM  export: first month (default: the first archived); search: an author
  --to YYYY-MM    export: last month (default: the last archived)
  --out FILE      export: write here instead of standard output
  --format F      import: write mbox, maildir or both (default: the archive distributor's, else mbox)
  --after DATE    search: posts from this day or month on (YYYY-MM-DD or YYYY-MM)
  --before DATE   search: posts up to the end of this day or month
  --limit N       search: at most N hits (default 20)
  --json          search: one JSON object per hit
  --config DIR    the configuration directory
  -h, --help      this text
`;

type Values = Record<string, string | boolean | undefined>;
const MONTH = /^\d{4}-\d{2}$/;
const DAY_OR_MONTH = /^\d{4}-\d{2}(-\d{2})?$/;

function fail(message: string, code: number = EX.USAGE): number {
  process.stderr.write(`malist archive: ${message}\n`);
  return code;
}

interface Where {
  dir: string;
  format: ArchiveFormat;
  /** The archive's rows, when `storage:` is PostgreSQL (and no --dir). */
  rows?: PgArchive;
}

/** The archive root and format: --dir/--format, else the configured archive distributor's. */
async function where(values: Values): Promise<Where | number> {
  const format = (values.format as ArchiveFormat | undefined) ?? undefined;
  if (typeof values.dir === 'string') return { dir: values.dir, format: format ?? 'mbox' };
  const { config, plans } = await openConfig(
    typeof values.config === 'string' ? { dir: values.config } : {},
  );
  if (config.problems.length > 0 || !config.main) {
    printProblems(config, process.stderr);
    return EX.CONFIG;
  }
  const configured = archiveDirOf(plans);
  const rows = await archiveRowsFor(config.main);
  return {
    dir: configured ?? join(config.main.state_dir, 'archive'),
    format: format ?? archiveFormatOf(plans),
    ...(rows ? { rows } : {}),
  };
}

/** The archive to read: the rows, else the files at `at.dir`. */
function storeOf(at: Where): ArchiveStore {
  return at.rows ?? openFilesArchive(at.dir, at.format);
}

async function exportCommand(values: Values, at: Where): Promise<number> {
  if (typeof values.list !== 'string') return fail('export needs --list NAME');
  const file = typeof values.out === 'string' ? createWriteStream(values.out) : undefined;
  const out: NodeJS.WritableStream = file ?? process.stdout;
  let count = 0;
  const range = {
    ...(values.from ? { from: String(values.from) } : {}),
    ...(values.to ? { to: String(values.to) } : {}),
  };
  const chunks = at.rows
    ? at.rows.export(values.list, range)
    : exportArchive({ dir: at.dir, list: values.list, ...range });
  for await (const chunk of chunks) {
    count++;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  if (file) await new Promise<void>((r) => file.end(() => r()));
  if (count === 0)
    process.stderr.write(
      `malist archive: nothing archived for ${values.list} in ${at.rows?.where ?? at.dir}\n`,
    );
  return EX.OK;
}

async function reindexCommand(values: Values, at: Where): Promise<number> {
  if (at.rows) {
    process.stdout.write(
      `the archive is kept in ${at.rows.where} (storage: postgres): its search index is the table's own, there is nothing to rebuild\n`,
    );
    return EX.OK;
  }
  const dir = at.dir;
  const index = ArchiveIndex.open(dir);
  try {
    const done = await reindex(index, typeof values.list === 'string' ? values.list : undefined);
    for (const [list, r] of done)
      process.stdout.write(`${list}: ${r.added} posts indexed (${r.read} read from the files)\n`);
    if (done.size === 0) process.stdout.write(`no archived lists in ${dir}\n`);
    return EX.OK;
  } finally {
    index.close();
  }
}

async function importCommand(values: Values, at: Where, source?: string) {
  if (typeof values.list !== 'string' || !source)
    return fail('import needs --list NAME and a file or directory');
  if (!(await stat(source).catch(() => undefined)))
    return fail(`${source}: no such file or directory`, EX.NOINPUT);
  const index = at.rows ? undefined : ArchiveIndex.open(at.dir);
  try {
    const r = index
      ? await importArchive(index, { list: values.list, source, format: at.format })
      : await importIntoStore(at.rows!, { list: values.list, source });
    process.stdout.write(
      `${values.list}: ${r.added} posts imported from ${source} (${r.kind}), ${r.duplicates} already archived, ${r.read} read\n`,
    );
    return EX.OK;
  } finally {
    index?.close();
  }
}

async function searchCommand(values: Values, at: Where, words: string[]): Promise<number> {
  const store = storeOf(at);
  try {
    const result = await store.search({
      q: words.join(' '),
      ...(typeof values.list === 'string' ? { lists: [values.list] } : {}),
      ...(typeof values.from === 'string' ? { from: values.from } : {}),
      ...(typeof values.after === 'string' ? { after: values.after } : {}),
      ...(typeof values.before === 'string' ? { before: values.before } : {}),
      limit: Number(values.limit ?? 20),
    });
    for (const hit of result.hits) {
      const snippet = hit.snippet.map((p) => (p.match ? `[${p.text}]` : p.text)).join('');
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ ...hit.post, snippet: hit.snippet })}\n`);
        continue;
      }
      const day = new Date(hit.post.date).toISOString().slice(0, 10);
      process.stdout.write(
        `${day}  ${hit.post.list}  ${hit.post.fromName || hit.post.fromAddr}  ${hit.post.subject}\n  <${hit.post.messageId}>\n${snippet ? `  ${snippet.replace(/\s+/g, ' ')}\n` : ''}`,
      );
    }
    if (!values.json)
      process.stdout.write(`${result.total}${result.more ? ' or more' : ''} found\n`);
    return EX.OK;
  } finally {
    await store.close();
  }
}

function checkValues(values: Values): string | undefined {
  for (const key of ['to'] as const)
    if (values[key] !== undefined && !MONTH.test(String(values[key])))
      return `--${key} must be YYYY-MM`;
  for (const key of ['after', 'before'] as const)
    if (values[key] !== undefined && !DAY_OR_MONTH.test(String(values[key])))
      return `--${key} must be YYYY-MM-DD or YYYY-MM`;
  if (values.format !== undefined && !['mbox', 'maildir', 'both'].includes(String(values.format)))
    return '--format must be mbox, maildir or both';
  if (values.limit !== undefined && !/^\d+$/.test(String(values.limit)))
    return '--limit must be a number';
  return undefined;
}

function parse(argv: string[]): { values: Values; positionals: string[] } | number {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        list: { type: 'string', short: 'l' },
        dir: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        out: { type: 'string', short: 'o' },
        format: { type: 'string' },
        after: { type: 'string' },
        before: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean' },
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    process.stderr.write(`malist archive: ${(error as Error).message}\n${usage}`);
    return EX.USAGE;
  }
}

export default async function archive(argv: string[]): Promise<number> {
  const parsed = parse(argv);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(usage);
    return EX.OK;
  }
  const [sub, ...rest] = positionals;
  if (!sub || !['export', 'reindex', 'import', 'search'].includes(sub)) {
    process.stderr.write(usage);
    return EX.USAGE;
  }
  if (sub === 'export' && values.from !== undefined && !MONTH.test(String(values.from)))
    return fail('--from must be YYYY-MM');
  const bad = checkValues(values);
  if (bad) return fail(bad);
  const at = await where(values);
  if (typeof at === 'number') return at;
  try {
    if (sub === 'export') return await exportCommand(values, at);
    if (sub === 'reindex') return await reindexCommand(values, at);
    if (sub === 'import') return await importCommand(values, at, rest[0]);
    return await searchCommand(values, at, rest);
  } catch (error) {
    const config = error instanceof StageError && error.code === ErrorCode.CONFIG;
    return fail(describeError(error), config ? EX.CONFIG : EX.SOFTWARE);
  }
}
