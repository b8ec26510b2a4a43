/**
 * The sections a plain configuration seldom writes (storage, web, DKIM, bounces, TLS, the
 * queue's retry …) have their schemas built only when a file writes them
 * (src/mail/deferred-option.ts): a plain configuration builds none, and a written one is
 * checked as before, with the file, line, key, message and did-you-mean it always had.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planAll } from '../../src/config/build.ts';
import { loadConfig } from '../../src/config/load.ts';
import { formatProblem } from '../../src/config/problem.ts';
import { deferredBuilt } from '../../src/mail/deferred-option.ts';

/** The bench's configuration (bench/intake.ts): what a plain `malist receive` reads. */
const MAIN =
  'state_dir: state\ndistribute:\n  type: queue\n  server: out\nservers:\n  out:\n    host: 127.0.0.1\n    port: 2525\n    starttls: never\nqueue:\n  dir: spool\n';
const LIST = 'address: red@list.example.com\nposting: open\nmembers:\n  - a@example.com\n';

/** Loads a config dir of these files; the problems as `malist check` prints them. */
async function load(files: Record<string, string>): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'malist-deferred-'));
  await mkdir(join(dir, 'lists'));
  for (const [name, text] of Object.entries({
    'malist.yaml': MAIN,
    'lists/red.yaml': LIST,
    ...files,
  }))
    await writeFile(join(dir, name), text);
  const config = await loadConfig({ dir, env: {} });
  await planAll(config);
  return config.problems.map((p) => formatProblem(p).replaceAll(`${dir}/`, ''));
}

describe('sections built when written', () => {
  // First in the file: the count is the process's, and a section once built stays built.
  it('a plain configuration (a queue to one SMTP server, an open list) builds none', async () => {
    expect(await load({})).toEqual([]);
    expect(deferredBuilt()).toBe(0);
    expect(await load({ 'malist.yaml': `${MAIN}web:\n  listen: 127.0.0.1:8025\n` })).toEqual([]);
    expect(deferredBuilt()).toBe(1);
  });

  // The messages below are those of the sections built eagerly (before deferred()), word for word.
  it('an error inside one keeps its file, line, key and message', async () => {
    expect(
      await load({
        'malist.yaml': `${MAIN}storage:\n  type: postgress\nweb:\n  listen: nowhere\n  session_hours: 0\ndns:\n  timeout_ms: 1.5\n`,
      }),
    ).toEqual([
      "malist.yaml:13:9 storage.type: expected type: files or type: postgres, got 'postgress' (fix: see the documented keys in examples/malist.yaml and lists/)",
      'malist.yaml:18:15 dns.timeout_ms: expected a whole number, got number 1.5 (fix: write a number without quotes, e.g. timeout_ms: 1000)',
      "malist.yaml:15:11 web.listen: expected HOST:PORT, got 'nowhere' (fix: write the value in the form the message names (quote it if it has : or #))",
      'malist.yaml:16:18 web.session_hours: expected at least 0, got number 0 (fix: give a value, or remove the key)',
    ]);
    expect(
      await load({
        'lists/red.yaml': `${LIST}digest:\n  size_kb: -1\n  format: plain\ndkim:\n  domain: list.example.com\n  selector: "bad sel"\n  key_file: k.pem\narc_trusted_sealers: [not a domain]\n`,
      }),
    ).toEqual([
      'lists/red.yaml:6:12 digest.size_kb: expected at least 0, got number -1 (fix: give a value, or remove the key)',
      expect.stringMatching(
        /^lists\/red\.yaml:10:13 dkim\.selector: expected a selector: letters, digits, - and _ \(e\.g\. s2025\), got 'bad sel' \(fix: /,
      ),
      expect.stringMatching(
        /^lists\/red\.yaml:12:23 arc_trusted_sealers\.0: expected a domain name, e\.g\. list\.example\.com, got 'not a domain' \(fix: /,
      ),
    ]);
  });

  it('an unknown key inside one still gets its did-you-mean, or the keys it knows', async () => {
    expect(
      await load({
        'malist.yaml': `${MAIN}defaults:\n  bounces:\n    treshold: 3\nfeedback:\n  complaints:\n    warn_rat: 0.1\n`,
      }),
    ).toEqual([
      "malist.yaml:14:5 defaults.bounces.treshold: unknown key (fix: did you mean 'threshold'?)",
      "malist.yaml:17:5 feedback.complaints.warn_rat: unknown key (fix: did you mean 'warn_rate'?)",
    ]);
    expect(
      await load({
        'lists/red.yaml': `${LIST}archive:\n  visibility: public\ntemplates:\n  welcom: hi\nbounces:\n  threshold: 0\n`,
      }),
    ).toEqual([
      'lists/red.yaml:6:3 archive.visibility: unknown key (fix: remove it; known keys here: web, url)',
      "lists/red.yaml:8:3 templates.welcom: unknown key (fix: did you mean 'welcome'?)",
      'lists/red.yaml:10:14 bounces.threshold: expected at least 0, got number 0 (fix: give a value, or remove the key)',
    ]);
  });

  it('in SMTP and queue settings too', async () => {
    const main = MAIN.replace('    starttls: never\n', '    tls: implicitt\n').replace(
      'queue:\n  dir: spool\n',
      'queue:\n  dir: spool\n  retry:\n    factr: 2\n  alert_after: soon\n',
    );
    expect(await load({ 'malist.yaml': main })).toEqual([
      "malist.yaml:9:10 servers.out.tls: queue: expected one of implicit | starttls | none, got 'implicitt' (fix: see the documented keys in examples/malist.yaml and lists/)",
      "malist.yaml:13:5 queue.retry.factr: queue: unknown key (fix: did you mean 'factor'?)",
      expect.stringMatching(
        /^malist\.yaml:14:16 queue\.alert_after: queue: expected a duration: seconds, or 90s, 30m, 1h, 2d, got 'soon' \(fix: /,
      ),
    ]);
  });
});

describe('a value zod refuses for its format', () => {
  it("a value not of its format gets that format's fix, not an address's", async () => {
    const problems = await load({
      'malist.yaml': `${MAIN}web:\n  url: lists.example.com\n`,
    });
    expect(problems).toEqual([
      expect.stringMatching(
        /^malist\.yaml:13:8 web\.url: .*\(fix: write the whole URL with its scheme, e\.g\. https:\/\/lists\.example\.com\)$/,
      ),
    ]);
    expect(problems.join('')).not.toContain('address');
  });
});
