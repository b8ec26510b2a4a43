/** Shared bits of the pop3/imap integration tests: test messages and the crash child. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORPUS_DIR } from '../helpers/corpus.ts';

const CHILD = fileURLToPath(new URL('./play-child.ts', import.meta.url));

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  summary?: { fetched: number; distributed: number; skipped: number; fetchError?: string };
  stderr: string;
}

/** Runs play() in a child (`node --import tsx`); `crashAt` sets MALIST_CRASH_AT. */
export function runChild(
  config: object,
  crashAt?: string,
  // Only a hung child takes this long: a loaded machine compiling through tsx takes seconds.
  timeoutMs = 120_000,
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    if (crashAt) env.MALIST_CRASH_AT = crashAt;
    else delete env.MALIST_CRASH_AT;
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(config)], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`play child timed out: ${stderr}`));
    }, timeoutMs);
    // 'close', not 'exit': at exit the child's last stdout may still be unread.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let summary: ChildResult['summary'];
      try {
        summary = JSON.parse(stdout.trim().split('\n').pop() ?? '');
      } catch {}
      resolve({ code, signal, summary, stderr });
    });
  });
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A distinct small message. */
export function numbered(i: number, tag: string): Buffer {
  return Buffer.from(
    `From: p${i}@example.test\r\nTo: list@example.test\r\nSubject: ${tag} ${i}\r\n` +
      `Message-ID: <${tag}-${i}@example.test>\r\n\r\nBody ${i}\r\n.\r\n..dots\r\n`,
  );
}

/** A corpus message with 8-bit bytes (Shift_JIS body), line endings made CRLF. */
export function eightBit(): Buffer {
  return crlf(readFileSync(join(CORPUS_DIR, '008-shift-jis-8bit.eml')));
}

/** Every bare LF made CRLF: the form an IMAP/POP3 server puts on the wire. */
export function crlf(raw: Buffer): Buffer {
  return Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}

/** A message with bare LFs (and a bare CR, 8-bit bytes and dot lines). */
export function bareLf(): Buffer {
  return Buffer.from(
    'From: lf@example.test\nTo: list@example.test\nSubject: bare LF\n\nline one\n.dot line\n..two\r\nmixed\rcr \xe9\xff\n.\n',
    'latin1',
  );
}

/** About `mib` MiB of 8-bit CRLF lines, some starting with dots; deterministic. */
export function big(mib: number): Buffer {
  const header = Buffer.from(
    'From: big@example.test\r\nTo: list@example.test\r\nSubject: big\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: 8bit\r\n\r\n',
  );
  const lines: Buffer[] = [header];
  let size = header.length;
  let seed = 12345;
  const line = Buffer.alloc(78);
  while (size < mib * 1024 * 1024) {
    for (let i = 0; i < 76; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      let byte = 0x20 + (seed % 224);
      if (byte === 0x7f) byte = 0x2e;
      line[i] = byte;
    }
    if (seed % 7 === 0) line[0] = 0x2e;
    if (seed % 11 === 0) line[1] = 0x2e;
    line[76] = 0x0d;
    line[77] = 0x0a;
    lines.push(Buffer.from(line));
    size += line.length;
  }
  return Buffer.concat(lines);
}
