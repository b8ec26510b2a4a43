/**
 * The record of the UIDs a mailbox fetcher (POP3, IMAP) has handled. A UID is written here,
 * durably, before the server is asked to remove its message: whatever happens to that
 * request (a crash, a dropped connection, a POP3 session that dies before QUIT and rolls
 * its DELEs back), the next session finds the UID, does not hand the mail out again, and
 * finishes the removal. A UID leaves the record once it has left the mailbox.
 *
 * The two fetchers keep their own file layouts (existing records stay readable), given as
 * a `UidRecordFormat`: `UID_LIST` for POP3, `UID_STATES` for IMAP.
 */
import { readFile } from 'node:fs/promises';
import { StageError } from '../errors.ts';
import { writeFileDurable } from './durable.ts';

/** A record's file content, parsed. */
export interface UidRecordFile {
  uidValidity?: unknown;
  uids?: unknown;
}

/** What a record holds in memory. */
export interface UidRecordContent<K, S> {
  validity: string;
  uids: Map<K, S>;
}

/** How a record is laid out in its file. */
export interface UidRecordFormat<K, S> {
  /** The content of a parsed file; undefined keeps what is in memory. */
  read(data: UidRecordFile): UidRecordContent<K, S> | undefined;
  write(content: UidRecordContent<K, S>): UidRecordFile;
}

/**
 * POP3: `{"uids": ["uidl", …]}`. UIDL strings name a message for good, so the record needs
 * no validity and one state (acked: DELE to send).
 */
export const UID_LIST: UidRecordFormat<string, 'acked'> = {
  read(data) {
    if (!Array.isArray(data.uids)) return undefined;
    return { validity: '', uids: new Map(data.uids.map((uid) => [String(uid), 'acked'])) };
  },
  write(content) {
    return { uids: [...content.uids.keys()] };
  },
};

/** Per IMAP UID: acked (removal to do) or copied (only the \Deleted flag is left to set). */
export type ImapUidState = 'acked' | 'copied';

/**
 * IMAP: `{"uidValidity": "…", "uids": {"<uid>": "acked" | "copied"}}`. A UID means something
 * only under its UIDVALIDITY, and a move without MOVE is two steps (COPY, then \Deleted).
 */
export const UID_STATES: UidRecordFormat<number, ImapUidState> = {
  read(data) {
    const uids = (data.uids ?? {}) as Record<string, ImapUidState>;
    return {
      validity: String(data.uidValidity ?? ''),
      uids: new Map(Object.entries(uids).map(([uid, state]) => [Number(uid), state])),
    };
  },
  write(content) {
    const uids = Object.fromEntries([...content.uids].map(([uid, state]) => [String(uid), state]));
    return { uidValidity: content.validity, uids };
  },
};

/** One mailbox's record of handled UIDs, in one file. */
export class UidRecord<K extends string | number, S extends string> {
  /** The UIDVALIDITY the UIDs belong to ('' where the protocol has none). */
  validity = '';
  private uids = new Map<K, S>();

  /** `unit` names the fetcher in errors. */
  constructor(
    private readonly path: string,
    private readonly unit: string,
    private readonly format: UidRecordFormat<K, S>,
  ) {}

  /** Reads the file; a missing one leaves the record as it is. */
  async load(): Promise<void> {
    try {
      const content = this.format.read(JSON.parse(await readFile(this.path, 'utf8')));
      if (content) ({ validity: this.validity, uids: this.uids } = content);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new StageError(`cannot read the UID record ${this.path}: fix or remove it`, {
          code: 'ESTORAGE',
          unit: this.unit,
          cause: error,
        });
      }
    }
  }

  async save(): Promise<void> {
    const data = this.format.write({ validity: this.validity, uids: this.uids });
    await writeFileDurable(this.path, `${JSON.stringify(data)}\n`);
  }

  has(uid: K): boolean {
    return this.uids.has(uid);
  }

  /** The recorded UIDs and their states, in the order they were recorded. */
  entries(): IterableIterator<[K, S]> {
    return this.uids.entries();
  }

  /** Records `uid` in `state`, durably, before the caller goes on. */
  async mark(uid: K, state: S): Promise<void> {
    this.uids.set(uid, state);
    await this.save();
  }

  /** Forgets the UIDs no longer in the mailbox: their messages are gone for good. */
  async keepOnly(present: ReadonlySet<K>): Promise<void> {
    const before = this.uids.size;
    for (const uid of this.uids.keys()) if (!present.has(uid)) this.uids.delete(uid);
    if (this.uids.size !== before) await this.save();
  }

  /** Under a new UIDVALIDITY every recorded UID names nothing: the record starts over. */
  async startOver(validity: string): Promise<void> {
    if (this.validity === validity) return;
    this.validity = validity;
    this.uids.clear();
    await this.save();
  }
}
