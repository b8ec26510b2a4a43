/** The fetch step: the next mail from the fetcher, or the end of the run. */
import { NothingMore, StageError } from '../errors.ts';
import { crashPoint } from '../testing/crash-point.ts';
import type { Fetched } from '../types.ts';
import { asError, unitOf } from './report.ts';
import { onFetcher, type Run, report } from './run.ts';

/**
 * The next mail, counted as fetched; undefined when the run ends here: nothing more, or a
 * fetcher error (reported and kept in the summary).
 */
export async function fetchNext(run: Run): Promise<Fetched | undefined> {
  const { fetcher } = run.options;
  const { summary } = run;
  let fetched: Fetched;
  try {
    fetched = await onFetcher(run, () => fetcher.fetch());
  } catch (error) {
    if (error instanceof NothingMore) return undefined;
    summary.fetchError = asError(error);
    await report(run, {
      stage: 'fetcher',
      unit: unitOf(error, fetcher.name),
      error: summary.fetchError,
    });
    return undefined;
  }
  const id = `${fetched.mail.origin.fetcher}:${fetched.mail.origin.id}`;
  if (run.seen.has(id)) {
    // A fetcher that hands the same mail out twice would loop for ever: end the run.
    summary.fetchError = new StageError(`returned ${id} twice in one session`, {
      code: 'EPROTOCOL',
      unit: fetcher.name,
    });
    await report(run, { stage: 'fetcher', unit: fetcher.name, error: summary.fetchError });
    return undefined;
  }
  run.seen.add(id);
  summary.fetched++;
  crashPoint('play.after-fetch');
  return fetched;
}
