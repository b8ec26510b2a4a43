/**
 * What a handled command mail produced (its replies and the tokens it used), written
 * durably before the tokens are consumed: a replay after a crash returns the very same
 * replies (same keys, so the journal sends each once) instead of running the commands again.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurable } from '../state/durable.ts';
import { safeName } from '../state/safe-name.ts';

export interface RequestMemo {
  /** `from` (envelope sender) and `key`, when the producer chose them (bounce probes). */
  replies: Array<{ to: string; raw: Buffer; from?: string; key?: string }>;
  /** Tokens to consume once the memo is safe. */
  consume: string[];
}

export class RequestMemoStore {
  constructor(readonly dir: string) {}

  private path(list: string, key: string): string {
    return join(this.dir, safeName(list), `${safeName(key)}.json`);
  }

  async get(list: string, key: string): Promise<RequestMemo | undefined> {
    try {
      const data = JSON.parse(await readFile(this.path(list, key), 'utf8')) as {
        replies: Array<{ to: string; raw: string; from?: string; key?: string }>;
        consume: string[];
      };
      return {
        replies: data.replies.map((r) => ({ ...r, raw: Buffer.from(r.raw, 'base64') })),
        consume: data.consume,
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof SyntaxError)
        return undefined;
      throw error;
    }
  }

  async put(list: string, key: string, memo: RequestMemo): Promise<void> {
    const data = {
      replies: memo.replies.map((r) => ({ ...r, raw: r.raw.toString('base64') })),
      consume: memo.consume,
    };
    await writeFileDurable(this.path(list, key), JSON.stringify(data));
  }

  /**
   * Deletes memos written more than `maxAgeMs` ago: a replay after a crash comes within
   * minutes, never weeks. Returns how many went.
   */
  async prune(maxAgeMs: number, now = Date.now()): Promise<number> {
    let gone = 0;
    for (const list of await readdir(this.dir).catch(() => [] as string[])) {
      const dir = join(this.dir, list);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (!name.endsWith('.json')) continue;
        const path = join(dir, name);
        const info = await stat(path).catch(() => undefined);
        if (info && now - info.mtimeMs > maxAgeMs) {
          await rm(path, { force: true });
          gone++;
        }
      }
    }
    return gone;
  }
}
