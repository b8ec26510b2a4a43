/** The benchmark's inputs: posts of a given size and member lists (shared by malist and mlmmj cases). */

export const LIST_ADDRESS = 'bench@list.example.test';
export const POSTER = 'poster@example.test';

/**
 * A post of about `bytes` bytes with LF line ends, as an MTA or Dovecot leaves it in a
 * maildir (so the client's CRLF conversion is part of what is measured).
 */
export function makePost(bytes: number, id: string): Buffer {
  const head =
    `From: Poster <${POSTER}>\nTo: ${LIST_ADDRESS}\nSubject: bench ${id}\n` +
    `Date: Mon, 23 Nov 2026 20:00:00 +0000\nMessage-ID: <${id}@example.test>\n` +
    'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n';
  const line = 'The quick brown fox jumps over the lazy dog; a list post for the benchmark.\n';
  const lines = Math.max(1, Math.ceil((bytes - head.length) / line.length));
  return Buffer.from(head + line.repeat(lines));
}

/**
 * Member addresses. With `faults`, 1 in 100 is refused by the sink (r…, 550) and 1 in 100
 * deferred once (d…, 451), as `sinkFaults` below says.
 */
export function makeMembers(n: number, faults = false): string[] {
  return Array.from({ length: n }, (_, i) => {
    const kind = faults && i % 100 === 5 ? 'r' : faults && i % 100 === 7 ? 'd' : 'm';
    return `${kind}${i}@example.test`;
  });
}

export const sinkFaults = {
  refuse: (address: string) => address.startsWith('r'),
  defer: (address: string) => address.startsWith('d'),
  deferOnce: true,
};

/** Writes `posts` posts of `bytes` bytes into a new maildir under `dir`; returns its path. */
export async function writeInbox(dir: string, posts: number, bytes: number): Promise<string> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const inbox = join(dir, 'inbox');
  for (const sub of ['new', 'cur', 'tmp']) await mkdir(join(inbox, sub), { recursive: true });
  for (let i = 0; i < posts; i++) {
    const id = `p${i}.${process.pid}.${Date.now()}`;
    await writeFile(join(inbox, 'new', `${1_700_000_000 + i}.${id}.bench`), makePost(bytes, id));
  }
  return inbox;
}
