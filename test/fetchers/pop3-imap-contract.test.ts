/** The fetcher contract against a real Dovecot, for pop3 and imap (each test a fresh user). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import createImapFetcher from '../../src/fetchers/imap.ts';
import createPop3Fetcher from '../../src/fetchers/pop3.ts';
import { type Dovecot, dovecotAvailable, startDovecot } from '../helpers/dovecot.ts';
import { type ContractSource, fetcherContract } from './contract.ts';

const available = dovecotAvailable();
const USERS = Array.from({ length: 20 }, (_, i) => `c${i}`);
let dovecot: Dovecot | undefined;
let nextUser = 0;

beforeAll(async () => {
  if (available) dovecot = await startDovecot({ users: USERS });
}, 60_000);
afterAll(async () => {
  await dovecot?.stop();
});

function source(kind: 'pop3' | 'imap'): () => Promise<ContractSource> {
  return async () => {
    const d = dovecot!;
    const user = USERS[nextUser++]!;
    const stateDir = await mkdtemp(join(tmpdir(), `malist-contract-${kind}-`));
    const common = {
      host: d.host,
      user: d.address(user),
      password: d.password(user),
      caFile: d.caFile,
      stateDir,
      timeout: 30_000,
    };
    return {
      async seed(messages) {
        for (const m of messages) await d.deliver(user, m);
      },
      make: () =>
        kind === 'pop3'
          ? createPop3Fetcher({ ...common, port: d.ports.pop3s, tls: 'implicit' })
          : createImapFetcher({ ...common, port: d.ports.imap, tls: 'starttls' }),
      remaining: async () => (await d.messages(user)).length,
      cleanup: () => rm(stateDir, { recursive: true, force: true }),
    };
  };
}

fetcherContract('pop3', source('pop3'), { skip: !available });
fetcherContract('imap', source('imap'), { skip: !available });
