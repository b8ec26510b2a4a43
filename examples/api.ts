/**
 * malist as a library: one list, mail from a local maildir, copies into per-recipient
 * maildirs — the same `play()` loop `malist run` uses, wired by hand.
 *
 *   node --import tsx examples/api.ts INBOX OUT STATE
 *
 * It imports the installed package (`npm install ./malist-0.2.0.tgz tsx`); in a checkout
 * of malist the name resolves to the package itself (its build in dist/, or its sources
 * with `node --conditions=malist-source --import tsx`).
 *
 * Every step keeps malist's promises: a mail leaves the inbox only once it is handled,
 * and running the script again never delivers a post twice (the journal in STATE).
 */
import {
  createMaildirDistributor,
  createMaildirFetcher,
  createSingleList,
  createStderrLogger,
  play,
} from 'malist';

const [inbox, out, state] = process.argv.slice(2);
if (!inbox || !out || !state) {
  process.stderr.write('usage: node --import tsx examples/api.ts INBOX OUT STATE\n');
  process.exit(64);
}

const red = createSingleList({
  name: 'red',
  address: 'red@list.example.com',
  display_name: 'Red mail list',
  subject_prefix: '[Red] ',
  posting: 'members',
  members: ['alice@example.org', 'bob@example.net', 'carol@example.org'],
});

const summary = await play({
  fetcher: createMaildirFetcher({ dir: inbox }),
  processor: red,
  distributor: createMaildirDistributor({ dir: out }),
  reactor: createStderrLogger({ signals: true }),
  stateDir: state,
  onOutcome: (event) => process.stdout.write(`${event.list}: ${event.outcome}\n`),
});

process.stdout.write(
  `fetched ${summary.fetched}, distributed ${summary.distributed} to ${summary.recipients} recipients, ` +
    `held ${summary.held}, skipped ${summary.skipped}\n`,
);
process.exitCode = summary.failed > 0 || summary.fetchError ? 1 : 0;
