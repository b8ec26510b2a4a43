/**
 * The installation's side of authentication: the DNS every check asks (`dns:` in
 * malist.yaml), the verification of incoming posts (`authentication:`), what the units that
 * need them are given (`authenticate` its verifier, `dmarc` the same DNS), and the problems
 * a configuration has when a list requires what the installation does not do.
 */
import { hostname } from 'node:os';
import { type DnsResolver, newResolver, systemResolver } from '../auth/resolver.ts';
import type { VerifySettings } from '../processors/authenticate.ts';
import type { ListPlan } from './build.ts';
import type { LoadedConfig } from './load.ts';
import { type ConfigProblem, keyPath } from './problem.ts';

type Main = NonNullable<LoadedConfig['main']>;

/** The resolver of every DNS question malist asks (verification, `dmarc`, `malist check`). */
export function installationResolver(main: Main | undefined): DnsResolver {
  const dns = main?.dns;
  return systemResolver({
    ...(dns?.timeout_ms ? { timeoutMs: dns.timeout_ms } : {}),
    ...(dns?.servers ? { servers: dns.servers } : {}),
  });
}

/** How posts are verified; undefined when malist.yaml has no `authentication:`. */
export function verifySettings(
  main: Main | undefined,
  resolver: DnsResolver,
): VerifySettings | undefined {
  const auth = main?.authentication;
  if (!auth) return undefined;
  return {
    resolver,
    authserv_id: auth.authserv_id ?? hostname(),
    trusted_authserv_ids: auth.trusted_authserv_ids ?? [],
  };
}

/** Options the composition root gives units, by unit type (they are not written in YAML). */
export function unitWiring(
  main: Main | undefined,
  resolver: DnsResolver,
): Record<string, Record<string, unknown>> {
  const verify = verifySettings(main, resolver);
  return {
    authenticate: verify ? { verify } : {},
    dmarc: { resolver: (name: string) => resolver(name, 'TXT') as Promise<string[][]> },
  };
}

/**
 * A list that requires an authenticated From, on an installation that does not verify, or
 * with a pipeline that decides before it verifies, would hold every post: that is a
 * configuration problem, said before the first post. Bad `dns.servers` too.
 */
export function authenticationProblems(
  config: LoadedConfig,
  lists: readonly ListPlan[],
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const main = config.main;
  const servers = main?.dns?.servers;
  if (servers) {
    try {
      newResolver({ timeout: 3000, tries: 1 }).setServers([...servers]);
    } catch (error) {
      const path = ['dns', 'servers'];
      problems.push({
        file: config.source.file,
        ...config.source.locate(path),
        key: keyPath(path),
        message: `not DNS server addresses: ${(error as Error).message}`,
        fix: 'write IP addresses, with a port when not 53: [127.0.0.1, "[::1]:5353", "192.0.2.1:5353"]',
      });
    }
  }
  for (const { list, units } of lists) {
    if (!list.settings.require_authenticated_from) continue;
    const own =
      (list.source.value as Record<string, unknown>).require_authenticated_from !== undefined;
    const source = own ? list.source : config.source;
    const path = own ? ['require_authenticated_from'] : ['defaults', 'require_authenticated_from'];
    const at = { file: source.file, ...source.locate(path), key: keyPath(path) };
    const order = units.map((u) => u.type);
    const verified = order.indexOf('authenticate');
    if (!main?.authentication)
      problems.push({
        ...at,
        message: `list ${list.name} requires an authenticated From, but posts are not verified`,
        fix: `add authentication: { authserv_id: ${hostname()} } to ${config.source.file}`,
      });
    else if (verified < 0 || verified > order.indexOf('posting-policy'))
      problems.push({
        ...at,
        message: `list ${list.name} requires an authenticated From, but its pipeline does not run authenticate before posting-policy`,
        fix: 'put authenticate before posting-policy in its pipeline: (the default pipeline does)',
      });
  }
  return problems;
}
