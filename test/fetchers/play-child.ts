/**
 * Runs play() once with a pop3 or imap fetcher in a child process, so a test can SIGKILL it
 * mid-way (MALIST_CRASH_AT) and run it again. Argument: JSON
 * { kind: 'pop3' | 'imap', fetcher: options, outDir, stateDir }. Prints the summary as JSON.
 */
import createImapFetcher, { type ImapOptions } from '../../src/fetchers/imap.ts';
import createPop3Fetcher, { type Pop3Options } from '../../src/fetchers/pop3.ts';
import { play } from '../../src/play.ts';
import { recordingDistributor, toArchive } from './recording.ts';

const config = JSON.parse(process.argv[2] ?? '{}') as {
  kind: 'pop3' | 'imap';
  fetcher: Pop3Options & ImapOptions;
  outDir: string;
  stateDir: string;
};
const fetcher =
  config.kind === 'pop3' ? createPop3Fetcher(config.fetcher) : createImapFetcher(config.fetcher);
const summary = await play({
  fetcher,
  processor: toArchive,
  distributor: recordingDistributor(config.outDir),
  stateDir: config.stateDir,
  reactor: {
    name: 'stderr',
    react: (f) => void console.error(`${f.stage} ${f.unit}: ${f.error.message}`),
  },
});
process.stdout.write(
  `${JSON.stringify({ ...summary, fetchError: summary.fetchError?.message })}\n`,
);
