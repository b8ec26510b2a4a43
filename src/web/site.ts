/**
 * What the web works with, taken from the composition root (config/runtime.ts) and never
 * wired here: the lists with their settings, list files and member stores, the runtime
 * (moderation, delivery under the journal, the queues, the secret, the token store), and
 * the web's own credentials. A settings change made on the web reloads it: requests that
 * started before keep the state they began with.
 */
import { join } from 'node:path';
import { memberStoreOf, type Plans } from '../config/build.ts';
import type { LoadedConfig } from '../config/load.ts';
import { openConfig } from '../config/open.ts';
import { formatProblem } from '../config/problem.ts';
import { buildRuntime, type ListRuntime } from '../config/runtime.ts';
import { webCredentialsFor } from '../config/storage.ts';
import type { ListSettings } from '../list/settings.ts';
import type { MemberStore } from '../members/store.ts';
import type { Queue } from '../queue/queue.ts';
import type { WebCredentials } from '../state/web-credentials.ts';
import type { Distributor } from '../types.ts';

export interface WebList {
  name: string;
  settings: ListSettings;
  /** The list's YAML file (settings are written back into it). */
  file: string;
  /** The member store the list's posts read (the runtime's own instance). */
  store: MemberStore;
}

export interface SiteState {
  config: LoadedConfig;
  runtime: ListRuntime;
  lists: WebList[];
  list(name: string): WebList | undefined;
  /** The mail queues (every `type: queue` distributor). */
  queues: Queue[];
}

export interface Site {
  current(): SiteState;
  /** Reads the configuration again (after a settings change); the old state is closed later. */
  reload(): Promise<void>;
  readonly stateDir: string;
  readonly secret: Buffer;
  /** The public URL of the pages (links in mail), without a trailing slash. */
  readonly baseUrl: string;
  /** Admins' passwords and API tokens (state_dir/web, or the database's rows: `storage:`). */
  readonly credentials: WebCredentials;
  readonly sessionHours: number;
  close(): Promise<void>;
}

export function stateOf(config: LoadedConfig, plans: Plans, runtime: ListRuntime): SiteState {
  const lists: WebList[] = config.lists.map((l) => ({
    name: l.name,
    settings: runtime.list(l.name)?.list ?? l.settings,
    file: l.source.path,
    store: runtime.memberStore(l.name) ?? memberStoreOf(plans, l.name)!,
  }));
  const byName = new Map(lists.map((l) => [l.name, l]));
  const queues = runtime.outlets.flatMap((d) => {
    const queue = (d as Distributor & { queue?: Queue }).queue;
    return queue ? [queue] : [];
  });
  return { config, runtime, lists, list: (name) => byName.get(name), queues };
}

export interface OpenSiteOptions {
  /** The configuration directory. */
  dir: string;
  /** The listener's own URL, the public one when `web.url` is not set. */
  listenUrl?: string;
}

async function load(dir: string) {
  const { config, plans } = await openConfig({ dir });
  if (config.problems.length > 0 || !config.main)
    throw new Error(config.problems.map(formatProblem).join('\n') || 'no malist.yaml');
  return { config, plans, runtime: await buildRuntime(config, plans) };
}

/** Opens the configuration in `options.dir` for the web; throws with every problem. */
export async function openSite(options: OpenSiteOptions): Promise<Site> {
  const first = await load(options.dir);
  let state = stateOf(first.config, first.plans, first.runtime);
  const main = first.config.main!;
  const credentials = await webCredentialsFor(main);
  const retired = new Set<ListRuntime>();
  const site: Site = {
    current: () => state,
    async reload() {
      const next = await load(options.dir);
      const old = state.runtime;
      state = stateOf(next.config, next.plans, next.runtime);
      retired.add(old);
      // Requests that began with the old state may still be using it for a moment.
      setTimeout(() => {
        retired.delete(old);
        void old.close();
      }, 30_000).unref();
    },
    stateDir: main.state_dir,
    secret: first.runtime.secret,
    baseUrl: (main.web?.url ?? options.listenUrl ?? 'http://127.0.0.1:8025').replace(/\/+$/, ''),
    credentials,
    sessionHours: main.web?.session_hours ?? 12,
    async close() {
      for (const r of retired) await r.close();
      await state.runtime.close();
    },
  };
  return site;
}

/** STATE/web: sessions revoked, import previews, the web's credentials. */
export function webDir(site: Pick<Site, 'stateDir'>): string {
  return join(site.stateDir, 'web');
}
