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
import type { Document, YAMLMap, YAMLSeq } from 'yaml';
import { z } from 'zod';
import { isStorableAddress } from '../mail/address.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import { optionalName } from '../mail/shared-options.ts';
import { fileMemberStore } from './file-store.ts';
import {
  type Member,
  type MemberStore,
  OPTION_NAMES,
  parseMemberText,
  tidyMember,
} from './store.ts';
import { isMap, isScalar, isSeq, parseDocument } from './yaml-package.ts';
import {
  appendEntry,
  openYamlText,
  removeEntry,
  replaceEntry,
  splicedText,
  type YamlText,
} from './yaml-splice.ts';

export interface YamlMemberStoreOptions {
  /** The YAML file (the list's own file, or a members file). */
  file: string;
  /**
   * The key holding the sequence. A document that is itself a sequence is used as it is.
   * @default 'members'
   */
  key?: string;
  /**
   * The file's text and document as the configuration loader parsed them (given by the
   * composition root, never written in YAML): used while the file still holds that text,
   * so a 10,000-member list file is parsed once, not once more by its store.
   */
  parsed?: { text: string; doc: Document };
  /**
   * The file's text and plain value as the loader read them (composition root only): posts
   * read the members from the value, with no document parsed (config/check-cache.ts).
   */
  plain?: { text: string; value: unknown };
}

/** A mapping entry (`{ address, name, digest: true, … }`) as a member, or undefined. */
function memberOfMapping(value: Record<string, unknown>): Member | undefined {
  if (typeof value.address !== 'string' || !isStorableAddress(value.address)) return undefined;
  const member: Member = { address: value.address };
  if (typeof value.name === 'string') member.name = value.name;
  for (const option of OPTION_NAMES) if (value[option] === true) member[option] = true;
  if (typeof value.nomail_reason === 'string')
    member.nomail_reason = value.nomail_reason as Member['nomail_reason'];
  return tidyMember(member);
}

/** A scalar entry (`addr`, `Name <addr>`) as a member, or undefined. */
function memberOfScalar(value: unknown): Member | undefined {
  const parsed = parseMemberText(String(value ?? ''));
  return typeof parsed === 'string' ? undefined : tidyMember(parsed);
}

/** Reads one sequence item as a member (undefined for junk, which is kept untouched). */
export function memberOfNode(node: unknown): Member | undefined {
  if (isScalar(node)) return memberOfScalar(node.value);
  if (isMap(node)) return memberOfMapping((node as YAMLMap).toJSON() as Record<string, unknown>);
  return undefined;
}

/**
 * The members of a file's plain value (as the configuration loader read it), the same as
 * its document's entries give; undefined when the text could make them differ: an anchor,
 * an alias, a tag or a merge key (a document's alias is no member, its plain value is).
 */
export function membersOfPlain(text: string, value: unknown, key: string): Member[] | undefined {
  if (/[&*!]|<<\s*:/.test(text)) return undefined;
  const items = Array.isArray(value) ? value : (value as Record<string, unknown> | null)?.[key];
  if (items === undefined || items === null) return [];
  if (!Array.isArray(items)) return undefined;
  const members: Member[] = [];
  for (const item of items) {
    const member =
      item !== null && typeof item === 'object'
        ? Array.isArray(item)
          ? undefined
          : memberOfMapping(item as Record<string, unknown>)
        : memberOfScalar(item);
    if (member) members.push(member);
  }
  return members;
}

/**
 * The plain value a member is written as: `addr` or `Name <addr>` when it has no options
 * (as an operator writes it), else a mapping.
 */
function memberValue(member: Member): string | Record<string, unknown> {
  const tidy = tidyMember(member);
  const { address, name, ...options } = tidy;
  if (Object.keys(options).length === 0) {
    if (!name) return address;
    const text = `${name} <${address}>`;
    const back = parseMemberText(text);
    if (typeof back !== 'string' && back.name === name && back.address === address) return text;
  }
  return { address, ...(name ? { name } : {}), ...options };
}

/** The options of `type: yaml` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = lazySchema(() =>
  z.strictObject({
    file: z.string().min(1),
    key: optionalName,
  }),
);

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

/** True when the file has no `key` at all yet (a key with an empty value is there). */
function keyMissing(doc: Document, key: string): boolean {
  if (isSeq(doc.contents)) return false;
  return !isMap(doc.contents) || !(doc.contents as YAMLMap).has(key);
}

export default function createYamlMemberStore(options: YamlMemberStoreOptions): MemberStore {
  if (!options?.file) throw new Error('yaml member store: `file` is required');
  const { file } = options;
  const key = options.key ?? 'members';
  const seq = (doc: Document, create = false) => sequence(doc, key, create, file);
  const entries = (doc: Document) => (seq(doc)?.items ?? []).map(memberOfNode);
  const { parsed } = options;
  const members = options.plain && membersOfPlain(options.plain.text, options.plain.value, key);
  const seed = parsed
    ? { text: parsed.text, doc: openYamlText(parsed.text, parsed.doc) }
    : options.plain && members
      ? { text: options.plain.text, members }
      : undefined;
  return fileMemberStore<YamlText>(
    file,
    {
      name: 'yaml',
      parse(text) {
        const doc = parseDocument(text);
        if (doc.errors.length > 0)
          throw new Error(`yaml member store: ${file}: ${doc.errors[0]!.message}`);
        return openYamlText(text, doc);
      },
      serialise(edit) {
        if (edit.refold) return edit.doc.toString();
        // The edit in the text must say what the edited document says; else re-print it.
        return splicedText(edit, seq(edit.doc), key) ?? edit.doc.toString();
      },
      entries: (edit) => entries(edit.doc),
      normal: tidyMember,
      append(edit, member) {
        const found = seq(edit.doc);
        // A sequence this edit made (no source range) gets its entries after a new key.
        const created = found ? !found.range : keyMissing(edit.doc, key);
        if (!found && !created) edit.refold = true;
        appendEntry(edit, seq(edit.doc, true)!, memberValue(member), created);
      },
      removeAt: (edit, i) => removeEntry(edit, seq(edit.doc)!, i),
      replaceAt(edit, i, member) {
        const items = seq(edit.doc)!.items;
        const node = replacement(edit.doc, items[i], member);
        replaceEntry(edit, seq(edit.doc)!, i, node, memberValue(member));
      },
    },
    seed,
  );
}
