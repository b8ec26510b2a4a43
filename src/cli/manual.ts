/**
 * The manual page malist(1), written from the command table that `malist --help` prints
 * (`main.ts`), so the two never disagree. `npm run build` writes it to dist/malist.1, which
 * the package ships (package.json `man`); `man -l dist/malist.1` reads it from a checkout.
 */
import { EX } from './exit-codes.ts';
import { commands, version } from './main.ts';

/** What each exit status means to the operator and to an MTA running `malist receive`. */
const EXIT_STATUS: [code: number, meaning: string][] = [
  [
    EX.OK,
    'Handled: distributed, queued, held, rejected with a notice or discarded. Nothing needs the operator.',
  ],
  [
    EX.ATTENTION,
    'Done, but something needs the operator (run: nothing delivered because the server refused the login or TLS failed, dead letters with nothing delivered, mail queued longer than alert_after, a source failed; send-test: not a 250). One line on stderr says what.',
  ],
  [EX.USAGE, 'Wrong command-line usage.'],
  [EX.DATAERR, 'The input could not be read as a message (receive).'],
  [
    EX.NOUSER,
    'Unknown list: the MTA bounces the mail as "user unknown" (receive; lmtp answers that recipient 550 5.1.1).',
  ],
  [EX.SOFTWARE, 'Internal software error.'],
  [EX.OSERR, 'malist lmtp cannot listen on its address (in use, no permission).'],
  [EX.CANTCREAT, 'A file that must be written could not be.'],
  [
    EX.TEMPFAIL,
    'Temporary failure: the MTA keeps the mail and tries again later (receive; lmtp answers 451 4.3.0).',
  ],
  [EX.CONFIG, 'Configuration error; malist check names the file, line and column, and the fix.'],
];

const ENVIRONMENT: [name: string, meaning: string][] = [
  [
    'MALIST_SECRET',
    'The installation secret that signs confirmation and unsubscribe tokens (at least 16 bytes); without it, STATE/secret, created once with mode 0600.',
  ],
  [
    'VAR of a NAME_env: VAR key',
    'A secret (password, secret, token, api_key) is read from the variable that malist.yaml or a list file names, never from the YAML itself; NAME_file: PATH reads it from a file.',
  ],
  [
    'MALIST_FROM_SOURCE',
    'In a git checkout, 1 runs the TypeScript sources (through tsx) even when the compiled build is current.',
  ],
];

/** Text as roff reads it literally: backslashes and hyphens escaped, no line read as a request. */
function roff(text: string): string {
  return text
    .replaceAll('\\', '\\e')
    .replaceAll('-', '\\-')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}

/** A tagged paragraph: the tag in bold, then its text. */
function item(tag: string, text: string): string {
  return `.TP\n.B ${roff(tag)}\n${roff(text)}`;
}

/** The roff source of malist(1). */
export function manPage(ver = version()): string {
  return [
    `.TH MALIST 1 "" "malist ${roff(ver)}" "User Commands"`,
    '.SH NAME',
    'malist \\- a mailing\\-list processor that never loses mail',
    '.SH SYNOPSIS',
    '.B malist',
    '.I command',
    '.RI [ options ]',
    '.br',
    '.B malist \\-\\-help',
    '.br',
    '.B malist \\-\\-version',
    '.SH DESCRIPTION',
    roff(
      'malist fetches mail (POP3, IMAP, a maildir, or one mail on standard input from an MTA or ' +
        "procmail), runs each list's pipeline of processors (posting policy, headers, prefix, " +
        'footer, moderation), hands the result to distributors (a durable on-disk queue over ' +
        'SMTP, maildir, mbox, an archive) and routes every failure to reactors. A mail leaves its ' +
        'source only once it is durably handled, and no recipient gets a post twice.',
    ),
    '.PP',
    roff(
      'The configuration is malist.yaml in the configuration directory (the working directory, ' +
        'or --config DIR) and one YAML file per list under lists/. Without malist.yaml, malist ' +
        'run uses an embedded demo configuration and says so.',
    ),
    '.SH COMMANDS',
    ...Object.entries(commands).map(([name, entry]) => item(name, entry.summary)),
    '.PP',
    roff('malist COMMAND --help shows the options of one command.'),
    '.SH EXIT STATUS',
    ...EXIT_STATUS.map(([code, meaning]) => item(String(code), meaning)),
    '.SH ENVIRONMENT',
    ...ENVIRONMENT.map(([name, meaning]) => item(name, meaning)),
    '.SH FILES',
    item('malist.yaml', 'servers, sources, distributors, reactors, the state directory'),
    item('lists/NAME.yaml', "one list; the file name is the list's short name"),
    item('STATE/', 'the journal, held posts, the quarantine, tokens and the run lock (state_dir)'),
    '.SH SEE ALSO',
    '.BR procmail (1),',
    '.BR crontab (5),',
    '.BR systemd.service (5),',
    '.BR sysexits.h (3head)',
    '',
  ].join('\n');
}
