/**
 * `yaml` — members kept in a YAML file: inline in the list's own file (`members:` of
 * lists/red.yaml) or in a members file whose document is a sequence (or has `members:`).
 * Edits go through the yaml package's Document API, so comments, order and the style of
 * untouched entries survive; every change is written atomically (temp + fsync + rename)
 * under a file lock, re-reading the file first so an admin's concurrent edit is kept.
 *
 * An entry is `alice@example.com`, `Alice <alice@example.com>`, or a map
 * `{ address: alice@example.com, name: Alice, digest: true, nomail: true, … }`.
 */
import { readFile } from 'node:fs/promises';
import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { z } from 'zod';
import { normalizeAddress, parseMailbox } from '../mail/address.ts';
import { writeFileDurable } from '../state/durable.ts';
import { withFileLock } from '../state/lock.ts';
import {
  type Member,
  type MemberPatch,
  type MemberStore,
  OPTION_NAMES,
  patchMember,
  requireAddress,
  tidyMember,
} from './store.ts';

export interface YamlMemberStoreOptions {
  /** The YAML file (the list's own file, or a members file). */
  file: string;
  /**
   * The key holding the sequence. A document that is itself a sequence is used as it is.
   * @default 'members'
   */
  key?: string;
}

/** Reads one sequence item as a member (undefined for junk, which is kept untouched). */
export function memberOfNode(node: unknown): Member | undefined {
  if (isScalar(node)) {
    const text = String(node.value ?? '').trim();
    const mailbox = parseMailbox(text);
    if (!mailbox || !normalizeAddress(mailbox.address)) return undefined;
    return tidyMember({ address: mailbox.address, name: mailbox.name || undefined });
  }
  if (isMap(node)) {
    const value = (node as YAMLMap).toJSON() as Record<string, unknown>;
    if (typeof value.address !== 'string' || !normalizeAddress(value.address)) return undefined;
    const member: Member = { address: value.address };
    if (typeof value.name === 'string') member.name = value.name;
    for (const option of OPTION_NAMES) if (value[option] === true) member[option] = true;
    if (typeof value.nomail_reason === 'string')
      member.nomail_reason = value.nomail_reason as Member['nomail_reason'];
    return tidyMember(member);
  }
  return undefined;
}

/** The plain value a member is written as: a string when it has no options. */
function memberValue(member: Member): string | Record<string, unknown> {
  const tidy = tidyMember(member);
  const { address, name, ...options } = tidy;
  if (Object.keys(options).length === 0 && !name) return address;
  return { address, ...(name ? { name } : {}), ...options };
}

/** The options of `type: yaml` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z.strictObject({
  file: z.string().min(1),
  key: z.string().min(1).optional(),
});

export default function createYamlMemberStore(options: YamlMemberStoreOptions): MemberStore {
  if (!options?.file) throw new Error('yaml member store: `file` is required');
  const key = options.key ?? 'members';

  async function load(): Promise<Document> {
    let text = '';
    try {
      text = await readFile(options.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const doc = parseDocument(text);
    if (doc.errors.length > 0)
      throw new Error(`yaml member store: ${options.file}: ${doc.errors[0]!.message}`);
    return doc;
  }

  function sequence(doc: Document, create: boolean): YAMLSeq | undefined {
    if (isSeq(doc.contents)) return doc.contents;
    if (doc.contents === null || doc.contents === undefined) {
      if (!create) return undefined;
      doc.contents = doc.createNode({}) as never;
    }
    if (!isMap(doc.contents))
      throw new Error(`yaml member store: ${options.file} is neither a map nor a sequence`);
    let seq = doc.get(key, true);
    if (seq === undefined || seq === null || (isScalar(seq) && seq.value === null)) {
      if (!create) return undefined;
      doc.set(key, doc.createNode([]));
      seq = doc.get(key, true);
    }
    if (!isSeq(seq))
      throw new Error(`yaml member store: ${options.file}: \`${key}\` is not a list`);
    return seq;
  }

  function indexOf(seq: YAMLSeq, address: string): number {
    const normal = normalizeAddress(address);
    return seq.items.findIndex((item) => {
      const member = memberOfNode(item);
      return member !== undefined && normalizeAddress(member.address) === normal;
    });
  }

  /** Loads, lets `edit` change the document, writes it back only when `edit` says so. */
  function change<T>(edit: (doc: Document) => { result: T; changed: boolean }): Promise<T> {
    return withFileLock(options.file, async () => {
      const doc = await load();
      const { result, changed } = edit(doc);
      if (changed) await writeFileDurable(options.file, doc.toString());
      return result;
    });
  }

  async function list(): Promise<Member[]> {
    const seq = sequence(await load(), false);
    return (seq?.items ?? []).map(memberOfNode).filter((m): m is Member => m !== undefined);
  }

  return {
    name: 'yaml',
    list,
    async get(address) {
      const normal = normalizeAddress(address);
      return (await list()).find((m) => normalizeAddress(m.address) === normal);
    },
    async add(member) {
      requireAddress(member.address);
      return change((doc) => {
        const seq = sequence(doc, true)!;
        if (indexOf(seq, member.address) >= 0) return { result: 'exists' as const, changed: false };
        seq.items.push(doc.createNode(memberValue(member)));
        return { result: 'added' as const, changed: true };
      });
    },
    remove(address) {
      return change((doc) => {
        const seq = sequence(doc, false);
        const i = seq ? indexOf(seq, address) : -1;
        if (!seq || i < 0) return { result: false, changed: false };
        seq.items.splice(i, 1);
        return { result: true, changed: true };
      });
    },
    update(address: string, patch: MemberPatch) {
      return change((doc) => {
        const seq = sequence(doc, false);
        const i = seq ? indexOf(seq, address) : -1;
        if (!seq || i < 0) return { result: undefined, changed: false };
        const old = seq.items[i] as { comment?: string; commentBefore?: string };
        const current = memberOfNode(old)!;
        const next = patchMember(current, patch);
        if (JSON.stringify(next) === JSON.stringify(current))
          return { result: next, changed: false };
        const node = doc.createNode(memberValue(next)) as {
          comment?: string;
          commentBefore?: string;
        };
        node.commentBefore = old.commentBefore;
        // A comment after a one-line entry stays on its line (after the address).
        const oldFirst = isMap(old) ? (old as YAMLMap).items[0]?.value : undefined;
        const comment =
          old.comment ?? (isScalar(oldFirst) ? (oldFirst.comment ?? undefined) : undefined);
        const first = isMap(node) ? (node as YAMLMap).items[0]?.value : undefined;
        if (comment && isScalar(first)) first.comment = comment;
        else node.comment = comment;
        seq.items[i] = node;
        return { result: next, changed: true };
      });
    },
  };
}
