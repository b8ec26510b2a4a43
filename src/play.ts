/**
 * The loop (DESIGN.md, "The loop and its promises"): fetch → processors → distributors →
 * journal → ack. A mail is acked only once it is handled or a durable copy of it exists;
 * everything else stays at its source for the next run. The steps are in `src/loop/`:
 * `fetch.ts` (the next mail), `mail.ts` (one mail to its ack), `copy.ts` (one copy per
 * list, its recipients and journal record), `scheduler.ts` (mails in hand at once).
 */
import { fetchNext } from './loop/fetch.ts';
import { handleFetched } from './loop/mail.ts';
import type { PlayOptions } from './loop/options.ts';
import { closeUnits, createRun } from './loop/run.ts';
import { createScheduler, drain, isFull, schedule, waitForRoom } from './loop/scheduler.ts';
import type { PlaySummary } from './loop/summary.ts';

export type { OutcomeEvent, PlayOptions } from './loop/options.ts';
export { reportToReactors } from './loop/report.ts';
export type { ListCounts, PlaySummary } from './loop/summary.ts';

/** Mails `malist run` and `malist watch` handle at once unless malist.yaml sets `concurrency:`. */
export const RUN_CONCURRENCY = 4;

/** Loops until the fetcher has nothing more; see DESIGN.md for each step's promise. */
export async function play(options: PlayOptions): Promise<PlaySummary> {
  const run = createRun(options);
  const scheduler = createScheduler(options.concurrency);
  try {
    while (
      !options.signal?.aborted &&
      (options.limit === undefined || run.summary.fetched < options.limit)
    ) {
      if (isFull(scheduler)) {
        await waitForRoom(scheduler);
        continue;
      }
      const fetched = await fetchNext(run);
      if (!fetched) break;
      schedule(scheduler, fetched.mail.key, () => handleFetched(run, fetched));
    }
  } finally {
    // The mails in hand are finished (and acked) before the session ends.
    await drain(scheduler);
    await closeUnits(run);
  }
  return run.summary;
}
