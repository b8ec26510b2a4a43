/**
 * The list settings that are safe to change from the web — subject prefix, footer, posting
 * policy, what happens to non-members' posts, moderators — written back into the list's
 * own YAML file with the yaml package's Document API, so comments, key order and the rest
 * of the file stay as the operator wrote them. The edited text is checked by the loader
 * itself (same schema, same messages, file:line:col) before it replaces the file; the
 * write is atomic and under the file's lock, the one the YAML member store takes, since
 * inline members live in the same file.
 */
import { readFile } from 'node:fs/promises';
import type { YAMLSeq } from 'yaml';
import { isMap, isSeq, parseDocument } from '../members/yaml-package.ts';
import { writeFileDurable } from '../state/durable.ts';
import { withFileLock } from '../state/lock.ts';
import { checkListText, type LoadedConfig } from './load.ts';
import type { ConfigProblem } from './problem.ts';
import { displayPath } from './source.ts';

/** What the web may change; `null` removes the key (the default applies again). */
export interface ListSettingsEdit {
  subject_prefix?: string | null;
  /** The footer unit's text (`unit_options.footer.text`). */
  footer?: string | null;
  posting?: string | null;
  non_member_action?: string | null;
  moderators?: string[] | null;
}

export const EDITABLE_SETTINGS = [
  'subject_prefix',
  'footer',
  'posting',
  'non_member_action',
  'moderators',
] as const;

/** The current values of the editable settings, as written in the file. */
export function editableValues(text: string): ListSettingsEdit {
  const value = (parseDocument(text).toJS() ?? {}) as Record<string, unknown>;
  const footer = (value.unit_options as { footer?: { text?: unknown } } | undefined)?.footer?.text;
  return {
    subject_prefix: typeof value.subject_prefix === 'string' ? value.subject_prefix : null,
    footer: typeof footer === 'string' ? footer : null,
    posting: typeof value.posting === 'string' ? value.posting : null,
    non_member_action: typeof value.non_member_action === 'string' ? value.non_member_action : null,
    moderators: Array.isArray(value.moderators) ? value.moderators.map(String) : null,
  };
}

/** A footer given in `pipeline:` itself wins over unit_options: the web cannot change it. */
function pipelineFooter(doc: ReturnType<typeof parseDocument>): boolean {
  const pipeline = doc.get('pipeline', true);
  if (!isSeq(pipeline)) return false;
  return (pipeline as YAMLSeq).items.some(
    (item) => isMap(item) && item.get('type') === 'footer' && item.has('text'),
  );
}

function setOrDelete(doc: ReturnType<typeof parseDocument>, path: string[], value: unknown) {
  if (value === null || value === '' || (Array.isArray(value) && value.length === 0)) {
    if (doc.hasIn(path)) doc.deleteIn(path);
    return;
  }
  const old = doc.getIn(path, true);
  const node = doc.createNode(value) as { flow?: boolean; comment?: string | null };
  if (isSeq(old)) {
    node.flow = (old as YAMLSeq).flow ?? false;
    node.comment = (old as YAMLSeq).comment ?? null;
  }
  if (old && typeof old === 'object' && 'value' in (old as object)) {
    // A scalar: keep its comment and quoting style.
    const scalar = old as { value: unknown; comment?: string | null };
    scalar.value = value;
    return;
  }
  doc.setIn(path, node);
}

/** The file's text with `edit` applied; the problems it would have; or a refusal. */
export function applyEdit(
  text: string,
  edit: ListSettingsEdit,
): { text: string } | { refused: string } {
  const doc = parseDocument(text);
  if (doc.errors.length > 0)
    return { refused: `the file does not parse: ${doc.errors[0]!.message}` };
  for (const key of EDITABLE_SETTINGS) {
    if (!(key in edit) || edit[key] === undefined) continue;
    if (key === 'footer') {
      if (pipelineFooter(doc))
        return { refused: 'the footer text is set in pipeline: in the file; change it there' };
      setOrDelete(doc, ['unit_options', 'footer', 'text'], edit.footer);
      const footer = doc.getIn(['unit_options', 'footer'], true);
      if (isMap(footer) && footer.items.length === 0) doc.deleteIn(['unit_options', 'footer']);
      const options = doc.get('unit_options', true);
      if (isMap(options) && options.items.length === 0) doc.delete('unit_options');
      continue;
    }
    setOrDelete(doc, [key], edit[key]);
  }
  return { text: doc.toString() };
}

export type EditResult = { ok: true; text: string } | { ok: false; problems: ConfigProblem[] };

/**
 * Changes the settings of the list in `file` (a list file of `config`); nothing is written
 * when the result would not load.
 */
export function editListSettings(
  config: LoadedConfig,
  file: string,
  edit: ListSettingsEdit,
): Promise<EditResult> {
  return withFileLock(file, async () => {
    const before = await readFile(file, 'utf8');
    const applied = applyEdit(before, edit);
    if ('refused' in applied)
      return {
        ok: false,
        problems: [{ file: displayPath(file), line: 0, col: 0, key: '', message: applied.refused }],
      };
    const problems = await checkListText(file, applied.text, config.main!);
    if (problems.length > 0) return { ok: false, problems };
    if (applied.text !== before) await writeFileDurable(file, applied.text);
    return { ok: true, text: applied.text };
  });
}
