/**
 * `yaml` — members kept in a YAML file: inline in the list's own file (`members:` of
 * lists/red.yaml) or in a members file whose document is a sequence (or has `members:`).
 * Edits go through the yaml package's Document API, so comments, order and the style of
 * untouched entries survive; changes go through the shared write path (file-store.ts):
 * atomic, under a file lock, re-reading the file first so an admin's concurrent edit is kept.
 *
 * An entry is `alice@example.com`, `Alice <alice@example.com>`, or a map
 * `{ address: alice@example.com, name: Alice, digest: true, nomail: true, … }`.
 */
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
import { isStorableAddress } from '../mail/address.ts';
import { fileMemberStore } from './file-store.ts';
import {
  type Member,
  type MemberStore,
  OPTION_NAMES,
  parseMemberText,
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
    const parsed = parseMemberText(String(node.value ?? ''));
    return typeof parsed === 'string' ? undefined : tidyMember(parsed);
  }
  if (isMap(node)) {
    const value = (node as YAMLMap).toJSON() as Record<string, unknown>;
    if (typeof value.address !== 'string' || !isStorableAddress(value.address)) return undefined;
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

/** The sequence of members: the document itself, or its `key` (created on the first add). */
function sequence(doc: Document, key: string, create: boolean, file: string): YAMLSeq | undefined {
  if (isSeq(doc.contents)) return doc.contents;
  if (doc.contents === null || doc.contents === undefined) {
    if (!create) return undefined;
    doc.contents = doc.createNode({}) as never;
  }
  if (!isMap(doc.contents))
    throw new Error(`yaml member store: ${file} is neither a map nor a sequence`);
  let seq = doc.get(key, true);
  if (seq === undefined || seq === null || (isScalar(seq) && seq.value === null)) {
    if (!create) return undefined;
    doc.set(key, doc.createNode([]));
    seq = doc.get(key, true);
  }
  if (!isSeq(seq)) throw new Error(`yaml member store: ${file}: \`${key}\` is not a list`);
  return seq;
}

/** A new node for `member` that keeps the comments of the entry it replaces. */
function replacement(doc: Document, old: unknown, member: Member): unknown {
  const before = old as { comment?: string; commentBefore?: string };
  const node = doc.createNode(memberValue(member)) as { comment?: string; commentBefore?: string };
  node.commentBefore = before.commentBefore;
  // A comment after a one-line entry stays on its line (after the address).
  const oldFirst = isMap(old) ? (old as YAMLMap).items[0]?.value : undefined;
  const comment =
    before.comment ?? (isScalar(oldFirst) ? (oldFirst.comment ?? undefined) : undefined);
  const first = isMap(node) ? (node as YAMLMap).items[0]?.value : undefined;
  if (comment && isScalar(first)) first.comment = comment;
  else node.comment = comment;
  return node;
}

export default function createYamlMemberStore(options: YamlMemberStoreOptions): MemberStore {
  if (!options?.file) throw new Error('yaml member store: `file` is required');
  const { file } = options;
  const key = options.key ?? 'members';
  const seq = (doc: Document, create = false) => sequence(doc, key, create, file);
  return fileMemberStore<Document>(file, {
    name: 'yaml',
    parse(text) {
      const doc = parseDocument(text);
      if (doc.errors.length > 0)
        throw new Error(`yaml member store: ${file}: ${doc.errors[0]!.message}`);
      return doc;
    },
    serialise: (doc) => doc.toString(),
    entries: (doc) => (seq(doc)?.items ?? []).map(memberOfNode),
    normal: tidyMember,
    append: (doc, member) => void seq(doc, true)!.items.push(doc.createNode(memberValue(member))),
    removeAt: (doc, i) => void seq(doc)!.items.splice(i, 1),
    replaceAt: (doc, i, member) => {
      const items = seq(doc)!.items;
      items[i] = replacement(doc, items[i], member) as (typeof items)[number];
    },
  });
}
