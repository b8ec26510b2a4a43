/**
 * A durable store of whole mails with a reason: the quarantine (mail a unit crashed on)
 * and the held queue (mail for a moderator). One `<id>.eml` with the bytes as fetched and
 * one `<id>.json` with why, both written durably; the id is the mail's key, so storing the
 * same mail twice is harmless.
 */
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isoTime } from '../mail/iso-time.ts';
import { messageId } from '../mail/list-mail.ts';
import type { ListMail } from '../types.ts';
import { writeFileDurable } from './durable.ts';
import { safeName } from './safe-name.ts';

export interface StoredMeta {
  id: string;
  reason: string;
  unit: string;
  list?: string;
  messageId?: string;
  from?: string;
  subject?: string;
  origin: ListMail['origin'];
  at: string;
  /** Anything a unit needs to keep with it (moderation token, expiry…). */
  extra?: Record<string, unknown>;
}

export type StoreWhy = {
  reason: string;
  unit: string;
  list?: string;
  extra?: Record<string, unknown>;
};

/** The meta of `mail` stored now for `why` (its id is the mail's key). */
export function storedMeta(mail: ListMail, why: StoreWhy): StoredMeta {
  return {
    id: safeName(mail.key),
    reason: why.reason,
    unit: why.unit,
    list: why.list,
    messageId: messageId(mail),
    from: mail.header.getDecoded('From')?.slice(0, 300),
    subject: mail.header.getDecoded('Subject')?.slice(0, 300),
    origin: mail.origin,
    at: isoTime(Date.now()),
    extra: why.extra,
  };
}

export class MailStore {
  constructor(readonly dir: string) {}

  /** Stores the raw bytes and the reason; the `.json` is written last, so it marks a whole entry. */
  async put(mail: ListMail, why: StoreWhy): Promise<StoredMeta> {
    const meta = storedMeta(mail, why);
    await this.restore(mail.raw, meta);
    return meta;
  }

  /** Stores bytes and a meta as another store had them (a migration): the time stays. */
  async restore(raw: Buffer, meta: StoredMeta): Promise<void> {
    const id = safeName(meta.id);
    await writeFileDurable(join(this.dir, `${id}.eml`), raw);
    await writeFileDurable(join(this.dir, `${id}.json`), JSON.stringify(meta, null, 2));
  }

  async list(): Promise<StoredMeta[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const out: StoredMeta[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      try {
        out.push(JSON.parse(await readFile(join(this.dir, name), 'utf8')) as StoredMeta);
      } catch {
        // a half-written entry has no readable .json yet: not listed
      }
    }
    return out;
  }

  async read(id: string): Promise<{ raw: Buffer; meta: StoredMeta }> {
    const safe = safeName(id);
    const raw = await readFile(join(this.dir, `${safe}.eml`));
    const meta = JSON.parse(await readFile(join(this.dir, `${safe}.json`), 'utf8')) as StoredMeta;
    return { raw, meta };
  }

  /** Removes an entry (after approval, rejection or expiry): the `.json` first. */
  async remove(id: string): Promise<void> {
    const safe = safeName(id);
    await unlink(join(this.dir, `${safe}.json`)).catch(() => {});
    await unlink(join(this.dir, `${safe}.eml`)).catch(() => {});
  }
}
