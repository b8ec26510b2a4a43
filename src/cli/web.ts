/**
 * `malist web passwd [USER]` and `malist web token create|list|revoke`: the web's own
 * credentials, kept in STATE/web/ with mode 0600, or in the database's rows with `storage:
 * {type: postgres}` (every host shares them: config/storage.ts `webCredentialsFor`). The
 * password is read from standard input (one line; not echoed on a terminal); a token is
 * printed once, when it is made, and only its hash is kept.
 */
import { loadConfig } from '../config/load.ts';
import { printProblems } from '../config/open.ts';
import { webCredentialsFor } from '../config/storage.ts';
import type { WebCredentials } from '../state/web-credentials.ts';
import { commandArgs } from './args.ts';
import { EX } from './exit-codes.ts';

export const usage = `usage: malist web <command> [options]

commands:
  passwd [USER]                          set a site admin's password (default user: admin),
                                         read from standard input
  token create --scope SCOPE [--name N]  make a REST API token; SCOPE is admin, list:NAME
                                         (read and write) or list:NAME:read; repeatable
  token list                             the tokens: id, scopes, name, created
  token revoke ID                        revoke a token

options:
  --config DIR    the configuration directory (malist.yaml: its state_dir)
  -h, --help      this text
`;

/** One line of standard input, without echo when it is a terminal. */
async function readSecretLine(prompt: string): Promise<string> {
  const input = process.stdin;
  if (input.isTTY) {
    process.stderr.write(prompt);
    input.setRawMode(true);
  }
  let line = '';
  try {
    for await (const chunk of input) {
      line += chunk.toString();
      const end = line.search(/[\r\n\u0004]/);
      if (end >= 0) {
        line = line.slice(0, end);
        break;
      }
    }
  } finally {
    if (input.isTTY) {
      input.setRawMode(false);
      process.stderr.write('\n');
    }
    input.pause();
  }
  return line;
}

async function tokenCommand(
  credentials: WebCredentials,
  verb: string | undefined,
  arg: string | undefined,
  values: { scope?: string[]; name?: string },
): Promise<number> {
  if (verb === 'create') {
    const { token, record } = await credentials.createToken(values.scope ?? [], values.name);
    process.stdout.write(`${token}\n`);
    process.stderr.write(
      `malist web: token ${record.id} (${record.scopes.join(' ')}) made; it is shown only now\n`,
    );
    return EX.OK;
  }
  if (verb === 'list') {
    for (const t of await credentials.tokens())
      process.stdout.write(`${t.id}\t${t.scopes.join(',')}\t${t.name ?? ''}\t${t.created}\n`);
    return EX.OK;
  }
  if (verb === 'revoke' && arg) {
    const gone = await credentials.revokeToken(arg);
    process.stdout.write(gone ? `${arg}: revoked\n` : `${arg}: no such token\n`);
    return gone ? EX.OK : EX.NOUSER;
  }
  process.stderr.write(usage);
  return EX.USAGE;
}

export default async function webCommand(argv: string[]): Promise<number> {
  const parsed = commandArgs(
    'web',
    argv,
    {
      config: { type: 'string', short: 'c' },
      scope: { type: 'string', multiple: true },
      name: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    usage,
    process.stderr,
  );
  if (!parsed) return EX.USAGE;
  const { values, positionals } = parsed;
  const [command, verb, arg] = positionals;
  if (values.help || !command) {
    (values.help ? process.stdout : process.stderr).write(usage);
    return values.help ? EX.OK : EX.USAGE;
  }
  const config = await loadConfig(values.config ? { dir: values.config } : {});
  if (!config.main) {
    printProblems(config, process.stderr);
    return EX.CONFIG;
  }
  let credentials: WebCredentials;
  try {
    credentials = await webCredentialsFor(config.main);
  } catch (error) {
    process.stderr.write(`malist web: ${(error as Error).message}\n`);
    return EX.TEMPFAIL;
  }
  try {
    if (command === 'passwd') {
      const user = verb ?? 'admin';
      const password = await readSecretLine(`new password for ${user}: `);
      await credentials.setPassword(user, password);
      process.stdout.write(`malist web: the password of ${user} is set\n`);
      return EX.OK;
    }
    if (command === 'token') return await tokenCommand(credentials, verb, arg, values);
  } catch (error) {
    process.stderr.write(`malist web: ${(error as Error).message}\n`);
    return EX.DATAERR;
  }
  process.stderr.write(`malist web: unknown command '${command}'\n${usage}`);
  return EX.USAGE;
}
