/**
 * One process recording bounces, for the bounce contract suite's concurrency round:
 * `node --import tsx bounce-writer-child.ts files|postgres PLACE LIST ADDRESS N PREFIX`.
 * Records N distinct hard bounces of ADDRESS (keys PREFIX-0 … PREFIX-N-1) through
 * recordBounce against the files under PLACE (a state_dir) or the database at PLACE (a
 * URL), and prints `done N` when every one is written.
 */

import { pgBounceStorage } from '../../src/bounces/pg-store.ts';
import { recordBounce } from '../../src/bounces/record.ts';
import { fileBounceStorage } from '../../src/bounces/store.ts';
import createMemoryMemberStore from '../../src/members/memory.ts';
import { openDatabase } from '../../src/state/pg.ts';

const [backend, place, list, address, n, prefix] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const db = backend === 'postgres' ? await openDatabase(place, { max: 2 }) : undefined;
const storage = db ? await pgBounceStorage(db) : fileBounceStorage(place);
const store = createMemoryMemberStore({ members: [{ address }] });
// A threshold no run reaches and no daily cap: every bounce adds to the count and the score.
const options = { threshold: 1e9, daily_cap: 1e9 };
for (let i = 0; i < Number(n); i++)
  await recordBounce(
    { address, class: 'hard', action: 'failed', key: `${prefix}-${i}`, source: 'verp' },
    store,
    storage.records(list),
    options,
    Date.now(),
  );
await db?.close();
process.stdout.write(`done ${n}\n`);
