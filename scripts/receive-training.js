/**
 * The training run behind `malist receive`'s code cache (scripts/build.js): a child
 * process evaluates dist/bin/receive.cjs, handles one post as an MTA would hand it over
 * (`malist receive --recipient`), and only then writes V8's code cache. V8 compiles a
 * function when it is first called, so a cache written right after the script's top level
 * held none of the functions a post runs (loading the configuration, the pipeline, the
 * queue, the SMTP client): every process compiled those again. After the run the cache
 * holds them.
 *
 * Everything is local and thrown away: a scratch configuration in a temp directory (one
 * open list of 10 members, the durable queue) and an SMTP sink on 127.0.0.1 started here,
 * which accepts every message. Nothing leaves the machine, and no input of the build
 * changes (no clock, no network) what the run compiles.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const LIST = 'training@list.example.test';
const POSTER = 'poster@example.test';

/** An SMTP sink that accepts everything (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT). */
function startSink() {
  const server = createServer((socket) => {
    socket.setEncoding('latin1');
    let buffered = '';
    let inData = false;
    socket.write('220 sink ESMTP\r\n');
    socket.on('data', (chunk) => {
      buffered += chunk;
      const replies = [];
      for (;;) {
        if (inData) {
          const end = buffered.indexOf('\r\n.\r\n');
          const atStart = buffered.startsWith('.\r\n');
          if (end < 0 && !atStart) break;
          buffered = atStart ? buffered.slice(3) : buffered.slice(end + 5);
          inData = false;
          replies.push('250 2.0.0 accepted');
          continue;
        }
        const eol = buffered.indexOf('\r\n');
        if (eol < 0) break;
        const line = buffered.slice(0, eol);
        buffered = buffered.slice(eol + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') replies.push('250-sink', '250-PIPELINING', '250 8BITMIME');
        else if (verb === 'DATA') {
          replies.push('354 go ahead');
          inData = true;
        } else if (verb === 'QUIT') {
          socket.end('221 bye\r\n');
          return;
        } else replies.push('250 ok');
      }
      if (replies.length > 0) socket.write(`${replies.join('\r\n')}\r\n`);
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** A scratch configuration: the queue sends to the sink on `port`. */
async function scratchConfig(dir, port) {
  await mkdir(join(dir, 'lists'), { recursive: true });
  await writeFile(
    join(dir, 'malist.yaml'),
    `state_dir: state\ndistribute:\n  type: queue\n  server: sink\nservers:\n  sink:\n    host: 127.0.0.1\n    port: ${port}\n    tls: none\nqueue:\n  dir: spool\n`,
  );
  const members = Array.from({ length: 10 }, (_, i) => `  - m${i}@example.test\n`).join('');
  await writeFile(
    join(dir, 'lists', 'training.yaml'),
    `address: ${LIST}\nposting: open\nmembers:\n${members}`,
  );
}

/** A plain post of about 5 KB, as an MTA hands it over, with Message-ID <`id`@example.test>. */
function post(id) {
  const line = 'The quick brown fox jumps over the lazy dog; a post to train the code cache.\n';
  return (
    `From: Poster <${POSTER}>\nTo: ${LIST}\nSubject: training ${id}\n` +
    `Date: Mon, 23 Nov 2026 20:00:00 +0000\nMessage-ID: <${id}@example.test>\n` +
    `MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n${line.repeat(64)}`
  );
}

/**
 * Writes `cache` for the script `bundle` after a training run (bin/cached-script.js's
 * trainCache, from `loader`). Resolves to '' when it did, else to why not (the caller then
 * makes the cache of the top level alone).
 */
export async function trainReceiveCache(bundle, cache, loader, root) {
  const dir = await mkdtemp(join(tmpdir(), 'malist-training-'));
  const sink = await startSink();
  try {
    await scratchConfig(dir, sink.address().port);
    // A first post fills the check cache (src/config/check-cache.ts) and its code cache is
    // thrown away; the second is handled as nearly every mail is, from the kept files, so
    // the code cache holds what a post runs and not the YAML parser and zod's checks (which
    // a mail after an edit compiles as it goes).
    const first = await trainingRun(bundle, join(dir, 'first.cache'), loader, root, dir, 'warm');
    if (first) return first;
    return await trainingRun(bundle, cache, loader, root, dir, 'training');
  } finally {
    sink.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** One training post in a child process; resolves to '' when it wrote `cache`, else why not. */
async function trainingRun(bundle, cache, loader, root, dir, id) {
  const argv = ['receive', '--config', dir, '--recipient', LIST, '--sender', POSTER];
  const program = `const { trainCache } = await import(${JSON.stringify(pathToFileURL(loader).href)});
process.exitCode = await trainCache(${JSON.stringify(bundle)}, ${JSON.stringify(cache)}, ${JSON.stringify(argv)});`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', program], {
    cwd: root,
    // Only what a receive needs: none of the build's environment steers the run. Its
    // temporary directory, where the check cache is kept, is the scratch one.
    env: { PATH: process.env.PATH ?? '', HOME: dir, TMPDIR: dir },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  child.stdin.end(post(id));
  const code = await new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve(status);
    });
  });
  return code === 0 ? '' : `the training run exited ${code}: ${stderr.trim()}`;
}
