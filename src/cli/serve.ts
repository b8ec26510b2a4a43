/**
 * `malist serve`: the one-click unsubscribe endpoint (RFC 8058) for every configured list.
 * Point each list's `unsubscribe_url` at it:
 *   unsubscribe_url: https://lists.example.com/unsubscribe/{list}/{member}/{token}
 * (a reverse proxy terminates TLS; the server listens on 127.0.0.1 by default).
 */
import { parseArgs } from 'node:util';
import { loadSecret } from '../commands/secret.ts';
import { memberStoreOf } from '../config/build.ts';
import { openConfig, printProblems } from '../config/open.ts';
import { type ServeList, serve } from '../http/server.ts';
import { EX } from './exit-codes.ts';

export const usage = `usage: malist serve [options]

options:
  --config DIR    the configuration directory (malist.yaml, lists/)
  --host HOST     address to listen on (default 127.0.0.1)
  --port PORT     port (default 8025; 0 picks a free one)
  -h, --help      this text
`;

export default async function serveCommand(argv: string[]): Promise<number> {
  let values: { config?: string; host?: string; port?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        host: { type: 'string' },
        port: { type: 'string', short: 'p' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`malist serve: ${(error as Error).message}\n${usage}`);
    return EX.USAGE;
  }
  if (values.help) {
    process.stdout.write(usage);
    return EX.OK;
  }
  const port = values.port === undefined ? 8025 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`malist serve: --port must be a port number, not '${values.port}'\n`);
    return EX.USAGE;
  }
  const { config, plans } = await openConfig(values.config ? { dir: values.config } : {});
  if (config.problems.length > 0 || !config.main) {
    printProblems(config, process.stderr);
    return EX.CONFIG;
  }
  const lists: Record<string, ServeList> = {};
  for (const l of config.lists)
    lists[l.name] = { list: l.settings, store: memberStoreOf(plans, l.name)! };
  const running = await serve({
    lists,
    secret: await loadSecret(config.main.state_dir),
    host: values.host ?? '127.0.0.1',
    port,
    log: (line) => process.stderr.write(`malist serve: ${line}\n`),
  });
  process.stdout.write(
    `malist serve: listening on ${running.url} for ${Object.keys(lists).join(', ') || 'no lists'}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await running.close();
  return EX.OK;
}
