/**
 * Web sites (test/web/harness.ts, the site `malist serve` runs) as hosts sharing one
 * PostgreSQL database: the suite's hooks start the server, make the database and name it by
 * `DATABASE_URL`, which each site's `storage: {type: postgres, url_env: DATABASE_URL}` reads;
 * at the end they close every site started, put `DATABASE_URL` back and stop the server.
 */
import { afterAll, beforeAll } from 'vitest';
import { startWebSite, type WebSite, type WebSiteOptions } from '../web/harness.ts';
import { type Postgres, startPostgres } from './postgres.ts';

/** The `storage:` line of every host's malist.yaml. */
export const PG_STORAGE = 'storage: { type: postgres, url_env: DATABASE_URL }\n';

export interface PgSites {
  /** The server (set by the suite's beforeAll). */
  pg: Postgres;
  /** A host: a web site with its own configuration and state, on the shared database. */
  site(options?: WebSiteOptions): Promise<WebSite>;
}

/** Registers the suite's hooks; call it in the `describe` body. */
export function pgSites(database: string): PgSites {
  const sites: WebSite[] = [];
  const before = process.env.DATABASE_URL;
  const shared = {
    site: async (options: WebSiteOptions = {}) => {
      const site = await startWebSite({
        ...options,
        mainExtra: PG_STORAGE + (options.mainExtra ?? ''),
      });
      sites.push(site);
      return site;
    },
  } as PgSites;
  beforeAll(async () => {
    shared.pg = await startPostgres();
    process.env.DATABASE_URL = await shared.pg.createDatabase(database);
  }, 120_000);
  afterAll(async () => {
    for (const s of sites) await s.close();
    if (before === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = before;
    await shared.pg?.stop();
  });
  return shared;
}
