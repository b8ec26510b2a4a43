/** A child process for crash tests: play() from a maildir inbox to maildirs, on the "red" list. */
import createMaildirDistributor from '../../src/distributors/maildir.ts';
import createMaildirFetcher from '../../src/fetchers/maildir.ts';
import { play } from '../../src/play.ts';
import createSingleList from '../../src/processors/single-list.ts';

const [inbox, out, state] = process.argv.slice(2) as [string, string, string];
const summary = await play({
  fetcher: createMaildirFetcher({ dir: inbox }),
  processor: createSingleList({
    name: 'red',
    address: 'red@list.example.com',
    members: ['alice@example.com', 'bob@example.com', 'carol@example.com'],
    subject_prefix: '[Red] ',
  }),
  distributor: createMaildirDistributor({ dir: out }),
  stateDir: state,
});
process.stdout.write(`${JSON.stringify(summary)}\n`);
