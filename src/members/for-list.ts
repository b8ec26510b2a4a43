/**
 * The member store of a configured list, from its YAML: `member_store:` when given
 * (`yaml`, `text-file`, `memory`, or `{ type, file }` with `file` relative to the list
 * file), else its `members_file` (YAML when it ends in .yaml/.yml, else one member a line),
 * else the `members:` key of the list file itself.
 */
import { dirname, resolve } from 'node:path';
import { openMemberStore } from './index.ts';
import createMemoryMemberStore from './memory.ts';
import type { MemberStore } from './store.ts';
import createTextMemberStore from './text-file.ts';
import createYamlMemberStore from './yaml.ts';

export interface ListFile {
  /** The list file's absolute path. */
  path: string;
  /** The parsed YAML of the list file. */
  value: unknown;
}

export function memberStoreForList(source: ListFile): MemberStore {
  const value = (source.value ?? {}) as { members_file?: unknown; member_store?: unknown };
  const at = (file: unknown) =>
    typeof file === 'string' ? resolve(dirname(source.path), file) : undefined;
  const spec = value.member_store;
  if (spec !== undefined) {
    const { type, file } = (typeof spec === 'string' ? { type: spec } : spec) as {
      type?: string;
      file?: unknown;
    };
    if (type === 'yaml') return createYamlMemberStore({ file: at(file) ?? source.path });
    if (type === 'text-file' && at(file)) return createTextMemberStore({ file: at(file)! });
    if (type === 'memory') return createMemoryMemberStore();
    throw new Error(
      `${source.path}: member_store: unknown type '${type}' (yaml, text-file, memory)`,
    );
  }
  return openMemberStore(source.path, at(value.members_file));
}
