/**
 * A queue's sending service (`engine: ses | mailgun`) is checked as before its schema was made
 * only for a queue that names one: `malist check` reports each mistake under `ses:` at its
 * line with the same message, and a misspelt key still hears of `ses`; a queue made through
 * the API with `engine: ses` and no credentials is refused at once, before SES's module loads.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import createQueueDistributor from '../../src/distributors/queue.ts';
import { malist, tempConfig } from '../cli/run-malist.ts';

const made: string[] = [];
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.unstubAllEnvs();
});

const NO_AWS = { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '' };

describe('a queue that names a sending service', () => {
  it('malist check reports each mistake under ses: at its line, with the same message', async () => {
    const dir = await tempConfig(
      [
        'state_dir: state',
        'distribute:',
        '  type: queue',
        '  engine: ses',
        '  ses:',
        '    region: europe',
        '    max_connections: 0',
        '    endpointt: https://ses.example.test',
        'queue:',
        '  dir: spool',
        '  sess: {}',
        '',
      ].join('\n'),
    );
    made.push(dir);
    const r = await malist(['check'], { cwd: dir, env: NO_AWS });
    expect(r.code).toBe(78);
    expect(r.stderr.split('\n').filter((l) => /^malist\.yaml:/.test(l))).toEqual([
      'malist.yaml:6:5 distribute.ses: queue: no SES credentials: write access_key_id: and secret_access_key_env: (or _file:) under ses:, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY where malist runs, got a mapping (fix: see the documented keys in examples/malist.yaml and lists/)',
      "malist.yaml:6:13 distribute.ses.region: queue: expected an AWS region, e.g. eu-west-1, got 'europe' (fix: write the value in the form the message names (quote it if it has : or #))",
      'malist.yaml:7:22 distribute.ses.max_connections: queue: expected at least 0, got number 0 (fix: give a value, or remove the key)',
      "malist.yaml:8:5 distribute.ses.endpointt: queue: unknown key (fix: did you mean 'endpoint'?)",
      "malist.yaml:11:3 queue.sess: queue: unknown key (fix: did you mean 'ses'?)",
    ]);
  });

  it('engine: mailgun without its mapping, and mailgun: with engine: smtp, are each one problem', async () => {
    const dir = await tempConfig(
      'state_dir: state\ndistribute:\n  type: queue\n  engine: mailgun\nqueue:\n  dir: spool\n',
    );
    made.push(dir);
    const r = await malist(['check'], { cwd: dir });
    expect(r.stderr).toMatch(
      /^malist\.yaml:4:\d+ distribute\.engine: queue: engine: mailgun needs mailgun: \{ domain: …, api_key_env: … \} beside it/m,
    );
    const other = await tempConfig(
      'state_dir: state\ndistribute:\n  type: queue\n  engine: smtp\n  mailgun:\n    domain: example.org\n    api_key_env: MG_KEY\nqueue:\n  dir: spool\n',
    );
    made.push(other);
    const r2 = await malist(['check'], { cwd: other, env: { MG_KEY: 'k' } });
    expect(r2.code).toBe(78);
    expect(r2.stderr).toMatch(
      /distribute\.mailgun: queue: mailgun: is set but engine: is smtp; write engine: mailgun to send through it/,
    );
  });

  it('through the API, engine: ses without credentials is refused when the queue is made', async () => {
    for (const [k, v] of Object.entries(NO_AWS)) vi.stubEnv(k, v);
    const dir = await mkdtemp(join(tmpdir(), 'malist-ses-api-'));
    made.push(dir);
    await writeFile(join(dir, '.keep'), '');
    expect(() =>
      createQueueDistributor({ dir, engine: 'ses', ses: { region: 'eu-west-1' } }),
    ).toThrow(/SES needs credentials/);
  });
});
