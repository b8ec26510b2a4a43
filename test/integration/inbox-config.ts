/** A temp configuration (the shipped lists) fed by a local maildir `inbox`, delivering into `out/`. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tempConfig } from '../cli/run-malist.ts';

const INBOX_MAIN =
  'state_dir: state\nfetch:\n  - type: maildir\n    dir: inbox\ndistribute:\n  type: maildir\n  dir: out\nreactors: [stderr-logger]\n';

export async function inboxConfig(): Promise<string> {
  const dir = await tempConfig(INBOX_MAIN);
  for (const sub of ['new', 'cur', 'tmp'])
    await mkdir(join(dir, 'inbox', sub), { recursive: true });
  return dir;
}
