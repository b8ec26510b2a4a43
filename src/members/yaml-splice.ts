/**
 * Member edits written into a YAML file's own text, so everything else in it stays byte for
 * byte as the operator wrote it. The yaml package's `Document.toString()` re-prints the
 * whole file: folded (`>`) scalars re-folded at 80 columns, `[a, b]` respaced, blanks before
 * comments squeezed. Here the document is kept only to know where each member entry is
 * (its source range); an added member becomes one new line after the last entry, a removed
 * one loses its line, a changed one has its value replaced in place (a comment after it
 * kept). A flow sequence (`members: [a, b]`) is rewritten as one flow sequence keeping each
 * untouched entry's text. What cannot be placed safely (an entry not on its own `- ` line)
 * falls back to the re-printed document, and the result is always read back and compared.
 */
import type { Document, Node, YAMLMap, YAMLSeq } from 'yaml';
import { isMap, isScalar, parseDocument, stringify } from './yaml-package.ts';

interface Splice {
  from: number;
  to: number;
  text: string;
}

/** A YAML file being edited: its text, its document, and the edits made to the text. */
export interface YamlText {
  text: string;
  doc: Document;
  splices: Splice[];
  /** Entries for a sequence the file did not have yet (the key is written before them). */
  tail: string[];
  /** True once an edit could not be made in the text: the document is re-printed. */
  refold: boolean;
}

export function openYamlText(text: string, doc: Document): YamlText {
  return { text, doc, splices: [], tail: [], refold: false };
}

/** One entry's value as YAML lines: a plain or quoted scalar, or a block mapping. */
export function entryLines(value: unknown): string[] {
  return stringify(value, { lineWidth: 0 }).trimEnd().split('\n');
}

/** An entry's lines after `prefix` (`  - `), its continuation lines indented under the value. */
function entryText(value: unknown, prefix: string, comment = ''): string {
  const [first = '', ...rest] = entryLines(value);
  const indent = ' '.repeat(prefix.length);
  return [`${first}${comment}`, ...rest.map((l) => `${indent}${l}`)].join('\n');
}

function range(node: unknown): [number, number, number] | undefined {
  return (node as Node | undefined)?.range ?? undefined;
}

/** Where the line holding `at` begins. */
function lineStart(text: string, at: number): number {
  return text.lastIndexOf('\n', at - 1) + 1;
}

/** Just after the newline ending the line where the entry's content ends. */
function afterEntryLine(text: string, node: Node): number {
  let end = node.range![1];
  while (end > node.range![0] && /\s/.test(text[end - 1]!)) end--;
  const nl = text.indexOf('\n', end);
  return nl < 0 ? text.length : nl + 1;
}

/** The `  - ` before a block entry, when the entry starts on its own `- ` line. */
function dashPrefix(edit: YamlText, node: Node): string | undefined {
  const from = lineStart(edit.text, node.range![0]);
  const before = edit.text.slice(from, node.range![0]);
  return /^[ \t]*-[ \t]+$/.test(before) ? before : undefined;
}

function blockSeq(seq: YAMLSeq | undefined): boolean {
  return Boolean(seq && !seq.flow && range(seq));
}

/** Appends an entry whose plain value is `value` to `seq` (undefined: the key is new). */
export function appendEntry(edit: YamlText, seq: YAMLSeq, value: unknown, created: boolean) {
  // The last entry the file already has (found from the end: a sync appends hundreds).
  let last: Node | undefined;
  for (let i = seq.items.length - 1; i >= 0 && !last; i--)
    if (range(seq.items[i])) last = seq.items[i] as Node;
  seq.items.push(edit.doc.createNode(value) as never);
  if (created) {
    edit.tail.push(entryText(value, '  - '));
    return;
  }
  if (!blockSeq(seq)) return;
  const prefix = last && dashPrefix(edit, last);
  if (!last || prefix === undefined) {
    edit.refold = true;
    return;
  }
  const at = afterEntryLine(edit.text, last);
  const newline = at === edit.text.length && !edit.text.endsWith('\n') ? '\n' : '';
  edit.splices.push({ from: at, to: at, text: `${newline}${prefix}${entryText(value, prefix)}\n` });
}

/** Removes entry `i` of `seq`: its line goes, comment lines before it stay. */
export function removeEntry(edit: YamlText, seq: YAMLSeq, i: number) {
  const [node] = seq.items.splice(i, 1) as Node[];
  if (!blockSeq(seq) || !node) return;
  if (!range(node) || dashPrefix(edit, node) === undefined) {
    edit.refold = true;
    return;
  }
  edit.splices.push({
    from: lineStart(edit.text, node.range![0]),
    to: afterEntryLine(edit.text, node),
    text: '',
  });
}

/** The one comment written on an entry's lines (`# founder`), '' for none, undefined for more. */
function entryComment(node: Node): string | undefined {
  const found: string[] = [];
  const take = (n: unknown) => {
    const c = (n as { comment?: string | null } | null)?.comment;
    if (c) found.push(c);
  };
  take(node);
  if (isMap(node))
    for (const pair of (node as YAMLMap).items) {
      take(pair.key);
      take(pair.value);
    }
  if (found.length > 1 || found.some((c) => c.includes('\n'))) return undefined;
  return found[0] === undefined ? '' : ` #${found[0]}`;
}

/**
 * Replaces entry `i` of `seq` by `node` (value `value`), in place in the text: the entry's
 * lines become the new value's, its comment kept at the end of the first line.
 */
export function replaceEntry(
  edit: YamlText,
  seq: YAMLSeq,
  i: number,
  node: unknown,
  value: unknown,
) {
  const old = seq.items[i] as Node;
  seq.items[i] = node as never;
  if (!blockSeq(seq)) return;
  const prefix = range(old) ? dashPrefix(edit, old) : undefined;
  const comment = range(old) ? entryComment(old) : undefined;
  if (prefix === undefined || comment === undefined) {
    edit.refold = true;
    return;
  }
  const end = afterEntryLine(edit.text, old);
  const to = edit.text[end - 1] === '\n' ? end - 1 : end;
  edit.splices.push({ from: old.range![0], to, text: entryText(value, prefix, comment) });
}

/** A flow sequence written again: untouched entries as they were written, new ones printed. */
function flowText(edit: YamlText, seq: YAMLSeq): string {
  const parts = seq.items.map((item) => {
    const r = range(item);
    return r
      ? edit.text.slice(r[0], r[1])
      : stringify((item as Node).toJSON(), { collectionStyle: 'flow', lineWidth: 0 }).trimEnd();
  });
  return `[${parts.join(', ')}]`;
}

/** The file's new text. */
export function yamlTextOf(edit: YamlText, seq: YAMLSeq | undefined, key: string): string {
  if (edit.refold) return edit.doc.toString();
  const splices = [...edit.splices];
  const r = range(seq);
  if (seq && r && seq.flow) {
    if (/#/.test(edit.text.slice(r[0], r[1]).replace(/"[^"]*"|'[^']*'/g, '')))
      return edit.doc.toString();
    splices.push({ from: r[0], to: r[1], text: flowText(edit, seq) });
  }
  splices.sort((a, b) => a.from - b.from);
  let out = '';
  let at = 0;
  for (const s of splices) {
    out += edit.text.slice(at, s.from) + s.text;
    at = Math.max(at, s.to);
  }
  out += edit.text.slice(at);
  if (edit.tail.length > 0) {
    if (out !== '' && !out.endsWith('\n')) out += '\n';
    out += `${key}:\n${edit.tail.map((t) => `  - ${t}\n`).join('')}`;
  }
  return out;
}

/** True when `text` reads as the same data as `doc` (an edit in the text proven right). */
export function sameContent(text: string, doc: Document): boolean {
  const again = parseDocument(text);
  if (again.errors.length > 0) return false;
  return JSON.stringify(again.toJS()) === JSON.stringify(doc.toJS());
}

/**
 * The untouched entries the read-back may leave out: one-line plain entries (`  - addr`,
 * no anchor or tag) of a block sequence, not the first or last, whose line no edit touches
 * or borders. Each was read when the file was opened; a whole such line taken out of a
 * block sequence changes how no other line reads. Their lines, as splices removing them.
 */
function untouchedLines(edit: YamlText, seq: YAMLSeq): { nodes: Set<unknown>; cuts: Splice[] } {
  const nodes = new Set<unknown>();
  const cuts: Splice[] = [];
  const edits = [...edit.splices].sort((a, b) => a.from - b.from);
  let e = 0;
  const items = seq.items as Node[];
  for (let i = 1; i < items.length - 1; i++) {
    const node = items[i]!;
    if (!range(node) || !isScalar(node) || node.anchor || node.tag) continue;
    const from = lineStart(edit.text, node.range![0]);
    const to = afterEntryLine(edit.text, node);
    // One line: the entry starts on the line it ends on, after its `- `.
    if (edit.text.lastIndexOf('\n', to - 2) >= from || dashPrefix(edit, node) === undefined)
      continue;
    while (e < edits.length && edits[e]!.to < from) e++;
    const next = edits[e];
    if (next && next.from <= to) continue;
    nodes.add(node);
    cuts.push({ from, to, text: '' });
  }
  return { nodes, cuts };
}

/**
 * The file's new text with the edits made in it, proven to read as the edited document —
 * or undefined when it does not (the caller re-prints the document). The proof reads back
 * only what an edit could have changed: the text without the untouched one-line entries
 * (`untouchedLines`), against the document without them. A 10,000-member list is not
 * parsed a second time for a sync that changes 300.
 */
export function splicedText(
  edit: YamlText,
  seq: YAMLSeq | undefined,
  key: string,
): string | undefined {
  if (edit.refold) return undefined;
  const out = yamlTextOf(edit, seq, key);
  if (!seq || !blockSeq(seq)) return sameContent(out, edit.doc) ? out : undefined;
  const { nodes, cuts } = untouchedLines(edit, seq);
  const short = yamlTextOf({ ...edit, splices: [...edit.splices, ...cuts] }, seq, key);
  const again = parseDocument(short);
  if (again.errors.length > 0) return undefined;
  // What the short text must read as: the document without those entries.
  const items = seq.items;
  seq.items = items.filter((item) => !nodes.has(item));
  let expected: unknown;
  try {
    expected = edit.doc.toJS();
  } finally {
    seq.items = items;
  }
  return JSON.stringify(again.toJS()) === JSON.stringify(expected) ? out : undefined;
}
