/**
 * The `malist` command: a table of subcommands, each a module whose default export takes
 * the remaining arguments and resolves to an exit code (sysexits where an MTA reads it).
 * The same table writes `--help` and the manual page (`manual.ts`, built into dist/malist.1).
 */
import { readFileSync } from 'node:fs';
import { EX } from './exit-codes.ts';
import { type Command, quietPipes, runCommand } from './run-command.ts';

/** One subcommand: what `--help` and the manual say of it, and its module. */
export interface CommandEntry {
  summary: string;
  load: () => Promise<{ default: Command }>;
}

/** Subcommand → loader; loaded lazily so `malist receive` starts fast. */
export const commands: Record<string, CommandEntry> = {
  run: {
    summary: 'the cron job: fetch, process, distribute, run the queue',
    load: () => import('./run.ts'),
  },
  receive: {
    summary: 'one mail from stdin (procmail, MTA pipe); sysexits for the MTA',
    // zod's setting before any schema module is evaluated (zod-jitless.ts says why).
    load: () => import('./zod-jitless.ts').then(() => import('./receive.ts')),
  },
  lmtp: {
    summary: 'long-running LMTP intake for the MTA: per-recipient replies as receive exits',
    load: () => import('./lmtp.ts'),
  },
  check: {
    summary: 'validate malist.yaml and lists/*.yaml; list the lists',
    load: () => import('./check.ts'),
  },
  dkim: {
    summary: "dkim keygen --list NAME: a list's DKIM key (0600) and its DNS TXT record",
    load: () => import('./dkim.ts'),
  },
  watch: {
    summary: 'long-running: IMAP IDLE, runs the pipeline as soon as mail arrives',
    load: () => import('./watch.ts'),
  },
  queue: {
    summary: 'the durable queue: list | run | retry [ID] | drop ID',
    load: () => import('./queue.ts'),
  },
  sendmail: {
    summary: 'a sendmail-compatible entry (-t -f -i) through the durable queue',
    load: () => import('./sendmail.ts'),
  },
  'send-test': {
    summary: 'send a test message through the configured distributor',
    load: () => import('./send-test.ts'),
  },
  held: {
    summary: 'held posts: list, show ID, approve, reject, discard, expire',
    load: () => import('./held.ts'),
  },
  quarantine: {
    summary: 'mail a unit crashed on: list | show ID | release ID | drop ID',
    load: () => import('./quarantine.ts'),
  },
  complaints: {
    summary: "spam complaints the sending services reported: today's rate per list",
    load: () => import('./complaints.ts'),
  },
  members: {
    summary: "a list's members: list, show, add, remove, set, sync, export, import",
    load: () => import('./members.ts'),
  },
  trace: {
    summary:
      "why a member did or didn't get a post: trace --list NAME --member ADDRESS [--message-id ID | --since 2d]",
    load: () => import('./trace.ts'),
  },
  storage: {
    summary: 'where the state lives (files or PostgreSQL): status | upgrade',
    load: () => import('./storage.ts'),
  },
  serve: {
    summary: 'the web pages, the REST API and one-click unsubscribe (RFC 8058)',
    load: () => import('./serve.ts'),
  },
  web: {
    summary: "the web's credentials: passwd (site admins), token create|list|revoke (API)",
    load: () => import('./web.ts'),
  },
  digest: {
    summary: 'send the digests that are due (--force: all pending)',
    load: () => import('./digest.ts'),
  },
  archive: {
    summary: "a list's archive: export (one mbox), reindex, import (mbox, maildir, mlmmj), search",
    load: () => import('./archive.ts'),
  },
};

/** The version in malist's package.json (two folders up from src/cli/ and from dist/cli/). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return (pkg as { version: string }).version;
}

/** The text of `malist --help`. */
export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length), 4);
  return [
    'usage: malist <command> [options]',
    '',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'malist <command> --help shows the options of one command; malist --version its version.',
  ].join('\n');
}

/** Runs `malist ARGV`; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  quietPipes();
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name ? EX.OK : EX.USAGE;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`malist ${version()}\n`);
    return EX.OK;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`malist: unknown command '${name}'\n${usage()}\n`);
    return EX.USAGE;
  }
  return runCommand(name, command.load, rest);
}
