/**
 * The write path the file member stores share (text-file, yaml): read the file, find a
 * member by normal address, change the document, and write it back atomically (temp + fsync
 * + rename) under a file lock — re-reading the file inside the lock, so an admin's edit made
 * meanwhile is kept. A format says how its document holds members; entries that are not
 * members (comments, junk) are kept as they are.
 */
import { readFile, stat } from 'node:fs/promises';
import { normalizeAddress } from '../mail/address.ts';
import { writeFileDurable } from '../state/durable.ts';
import { withFileLock } from '../state/lock.ts';
import {
  type Member,
  type MemberChanges,
  type MemberStore,
  patchMember,
  requireAddress,
  tidyMember,
} from './store.ts';

/** How one file format holds members. `D` is the parsed document. */
export interface MemberFileFormat<D> {
  /** The store's name (its YAML `type:`). */
  name: string;
  /** The document of the file's text ('' when the file does not exist yet). */
  parse(text: string): D;
  serialise(doc: D): string;
  /** The entries in order, each a member or undefined (not a member: kept untouched). */
  entries(doc: D): Array<Member | undefined>;
  /** What a member becomes in this format (a format may drop what it cannot hold). */
  normal(member: Member): Member;
  append(doc: D, member: Member): void;
  removeAt(doc: D, index: number): void;
  /** Replaces entry `index` with `member`, keeping what belongs to the entry (comments). */
  replaceAt(doc: D, index: number, member: Member): void;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

function indexOf(entries: Array<Member | undefined>, address: string): number {
  const normal = normalizeAddress(address);
  return entries.findIndex((m) => m !== undefined && normalizeAddress(m.address) === normal);
}

/**
 * `changes` made to `doc` in one pass: replacements first (no index moves), removals from
 * the last entry back, then the new members at the end.
 */
function applyChanges<D>(
  format: MemberFileFormat<D>,
  doc: D,
  entries: Array<Member | undefined>,
  changes: MemberChanges,
) {
  const at = new Map<string, number>();
  entries.forEach((m, i) => {
    if (m) at.set(normalizeAddress(m.address), i);
  });
  const done = { added: 0, removed: 0, changed: 0 };
  for (const member of changes.change) {
    const i = at.get(normalizeAddress(member.address));
    if (i === undefined) continue;
    const current = entries[i]!;
    const next = format.normal(tidyMember({ ...member, address: current.address }));
    if (JSON.stringify(next) === JSON.stringify(current)) continue;
    format.replaceAt(doc, i, next);
    done.changed++;
  }
  const removals = changes.remove
    .map((m) => at.get(normalizeAddress(m.address)))
    .filter((i): i is number => i !== undefined);
  for (const i of [...new Set(removals)].sort((a, b) => b - a)) {
    format.removeAt(doc, i);
    done.removed++;
  }
  for (const member of changes.add) {
    const normal = normalizeAddress(member.address);
    if (at.has(normal)) continue;
    at.set(normal, -1);
    format.append(doc, format.normal(member));
    done.added++;
  }
  return done;
}

/** What the caller already knows of a file, used while the file still holds `text`. */
export interface FileSeed<D> {
  text: string;
  /** The text's document, as the caller parsed it. */
  doc?: D;
  /**
   * The text's members, read without a document (from the configuration's plain value):
   * reads then parse nothing; a change parses the file as always.
   */
  members?: Member[];
}

/** A member store over `file` in `format`, starting from what `seed` knows of it. */
export function fileMemberStore<D>(
  file: string,
  format: MemberFileFormat<D>,
  seed?: FileSeed<D>,
): MemberStore {
  /**
   * The last text read and its document, unchanged (only reads use it): a change made
   * right after a read (a sync: list, diff, apply) need not parse a big file twice.
   */
  let read: { text: string; doc: D } | undefined =
    seed?.doc === undefined ? undefined : { text: seed.text, doc: seed.doc };
  const plain = seed?.members && { text: seed.text, members: seed.members };
  /** The entries of a document not changed since they were read (a sync reads them twice). */
  let known: { doc: D; entries: Array<Member | undefined> } | undefined;
  const entriesOf = (doc: D) => {
    if (known?.doc !== doc) known = { doc, entries: format.entries(doc) };
    return known.entries;
  };
  /** The document of the file's text (`text`, when the caller has just read it). */
  const load = async (forChange = false, given?: string) => {
    const text = given ?? (await readText(file));
    if (read?.text === text) {
      const { doc } = read;
      if (forChange) read = undefined;
      return doc;
    }
    const doc = format.parse(text);
    read = forChange ? undefined : { text, doc };
    return doc;
  };
  /** Loads, lets `edit` change the document, writes it back only when `edit` says so. */
  function change<T>(edit: (doc: D) => { result: T; changed: boolean }): Promise<T> {
    return withFileLock(file, async () => {
      const doc = await load(true);
      let outcome: { result: T; changed: boolean };
      try {
        outcome = edit(doc);
      } finally {
        known = undefined;
      }
      const { result, changed } = outcome;
      if (changed) await writeFileDurable(file, format.serialise(doc));
      return result;
    });
  }
  async function list(): Promise<Member[]> {
    const text = await readText(file);
    if (plain?.text === text) return [...plain.members];
    return entriesOf(await load(false, text)).filter((m): m is Member => m !== undefined);
  }
  return {
    name: format.name,
    list,
    async revision() {
      const s = await stat(file).catch(() => undefined);
      return s ? `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}` : 'none';
    },
    async get(address) {
      const normal = normalizeAddress(address);
      return (await list()).find((m) => normalizeAddress(m.address) === normal);
    },
    async add(member) {
      requireAddress(member.address);
      return change((doc) => {
        if (indexOf(entriesOf(doc), member.address) >= 0)
          return { result: 'exists' as const, changed: false };
        format.append(doc, format.normal(member));
        return { result: 'added' as const, changed: true };
      });
    },
    async addMany(members) {
      for (const m of members) requireAddress(m.address);
      return change((doc) => {
        const have = new Set(
          entriesOf(doc).flatMap((m) => (m ? [normalizeAddress(m.address)] : [])),
        );
        const added: Member[] = [];
        for (const member of members) {
          const normal = normalizeAddress(member.address);
          if (have.has(normal)) continue;
          have.add(normal);
          format.append(doc, format.normal(member));
          added.push(member);
        }
        return { result: added, changed: added.length > 0 };
      });
    },
    async applyMany(changes) {
      for (const m of changes.add) requireAddress(m.address);
      return change((doc) => {
        const done = applyChanges(format, doc, entriesOf(doc), changes);
        return { result: done, changed: done.added + done.removed + done.changed > 0 };
      });
    },
    remove(address) {
      return change((doc) => {
        const i = indexOf(entriesOf(doc), address);
        if (i < 0) return { result: false, changed: false };
        format.removeAt(doc, i);
        return { result: true, changed: true };
      });
    },
    update(address, patch) {
      return change((doc) => {
        const entries = entriesOf(doc);
        const i = indexOf(entries, address);
        if (i < 0) return { result: undefined, changed: false };
        const current = entries[i]!;
        const next = format.normal(patchMember(current, patch));
        if (JSON.stringify(next) === JSON.stringify(current))
          return { result: next, changed: false };
        format.replaceAt(doc, i, next);
        return { result: next, changed: true };
      });
    },
  };
}
