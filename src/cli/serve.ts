/**
 * `malist serve`: the web face — pages for owners, moderators and members, the REST API
 * under /api/v1, and the RFC 8058 one-click unsubscribe endpoint — for every configured
 * list, on 127.0.0.1:8025 unless told otherwise. A reverse proxy terminates TLS (the
 * README has an nginx example); point each list's `unsubscribe_url` at it:
 *   unsubscribe_url: https://lists.example.com/unsubscribe/{list}/{member}/{token}
 */
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { parseListen, startWeb } from '../web/server.ts';
import { EX } from './exit-codes.ts';

export const usage = `usage: malist serve [options]

options:
  --config DIR          the configuration directory (malist.yaml, lists/)
  --listen HOST:PORT    where to listen (default: malist.yaml's web.listen, else 127.0.0.1:8025;
                        port 0 picks a free one)
  --host HOST, --port PORT   the same, one at a time
  -h, --help            this text

Site admins sign in with a password set by \`malist web passwd\`; API tokens come from
\`malist web token create\`.
`;

function where(values: { listen?: string; host?: string; port?: string }) {
  const out: { host?: string; port?: number } = {};
  if (values.listen) Object.assign(out, parseListen(values.listen));
  if (values.host) out.host = values.host;
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new Error(`--port must be a port number, not '${values.port}'`);
    out.port = port;
  }
  return out;
}

/**
 * A long-lived server keeps V8's young generation at its first size (1 MB semi-spaces)
 * instead of letting it grow to 16 MB ones: reading a 100,000-member list once (at start,
 * and for the members page) grew it to ~32 MB that the process then kept for good. With it
 * `npm run bench -- --web` measures ~95 MB of RSS instead of ~124 MB, at the same page
 * times. An operator's own `--max-semi-space-size` (or growth factor), on the command line
 * or in NODE_OPTIONS, wins.
 */
function keepYoungGenerationSmall(): void {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  if (/semi[-_]space/.test(given)) return;
  setFlagsFromString('--semi-space-growth-factor=1');
}

export default async function serveCommand(argv: string[]): Promise<number> {
  let values: { config?: string; listen?: string; host?: string; port?: string; help?: boolean };
  let at: ReturnType<typeof where>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        listen: { type: 'string', short: 'l' },
        host: { type: 'string' },
        port: { type: 'string', short: 'p' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
    at = where(values);
  } catch (error) {
    process.stderr.write(`malist serve: ${(error as Error).message}\n${usage}`);
    return EX.USAGE;
  }
  if (values.help) {
    process.stdout.write(usage);
    return EX.OK;
  }
  keepYoungGenerationSmall();
  let running: Awaited<ReturnType<typeof startWeb>>;
  try {
    running = await startWeb({
      dir: values.config ?? '.',
      ...at,
      log: (line) => process.stderr.write(`malist serve: ${line}\n`),
    });
  } catch (error) {
    process.stderr.write(`malist serve: ${(error as Error).message}\n`);
    return (error as NodeJS.ErrnoException).code === 'EADDRINUSE' ? EX.TEMPFAIL : EX.CONFIG;
  }
  const lists = running.site.current().lists.map((l) => l.name);
  process.stdout.write(
    `malist serve: listening on ${running.url} for ${lists.join(', ') || 'no lists'} (public address ${running.site.baseUrl})\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await running.close();
  return EX.OK;
}
