/**
 * The directories `malist run` writes (state, the queue's spool, the delivery log's folder),
 * checked by `malist check` before a run needs them: one that can never be made (a file
 * sits in its path) is a problem; one this user cannot write, a warning (check may run as
 * another user than cron or the MTA's pipe).
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Plan, Plans } from './build.ts';
import type { LoadedConfig } from './load.ts';
import { type ConfigProblem, keyPath } from './problem.ts';

/** The nearest part of `path` that exists (itself or an ancestor), with what it is. */
async function nearestExisting(path: string): Promise<{ path: string; isDir: boolean }> {
  for (let p = path; ; p = dirname(p)) {
    try {
      return { path: p, isDir: (await stat(p)).isDirectory() };
    } catch {
      if (dirname(p) === p) return { path: p, isDir: true };
    }
  }
}

/** Every `type: queue` plan, nested ones too (inside `multiple`, `deliver-to`). */
export function queuePlans(plans: Plan[]): Plan[] {
  return plans.flatMap((p) => [
    ...(p.type === 'queue' ? [p] : []),
    ...queuePlans(p.children ?? []),
  ]);
}

/** Problems and warnings for the directories malist.yaml has `malist run` write. */
export async function directoryProblems(
  config: LoadedConfig,
  plans: Plans,
): Promise<{ problems: ConfigProblem[]; warnings: ConfigProblem[] }> {
  const problems: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const main = config.main;
  if (!main || config.embedded) return { problems, warnings };
  const raw = (config.source.value ?? {}) as { queue?: { dir?: unknown } };
  const wanted: { key: PropertyKey[]; dir: string }[] = [
    { key: ['state_dir'], dir: main.state_dir },
    ...(main.delivery_log ? [{ key: ['delivery_log'], dir: dirname(main.delivery_log) }] : []),
    // A queue in PostgreSQL writes no spool: its `dir`, if any, is not needed.
    ...(main.storage?.type === 'postgres' ? [] : queuePlans(plans.distributors))
      .filter((p) => p.options.dir !== undefined)
      .map((p) => ({
        key: raw.queue?.dir !== undefined ? ['queue', 'dir'] : ['distribute'],
        dir: String(p.options.dir),
      })),
  ];
  const seen = new Set<string>();
  for (const { key, dir } of wanted) {
    if (seen.has(dir)) continue;
    seen.add(dir);
    const at = { file: config.source.file, ...config.source.locate(key), key: keyPath(key) };
    const existing = await nearestExisting(dir);
    if (!existing.isDir) {
      problems.push({
        ...at,
        message: `${dir} cannot be made: ${existing.path} is a file, not a directory`,
        fix: `point ${keyPath(key)} at a directory, or move the file ${existing.path} away`,
      });
      continue;
    }
    try {
      await access(existing.path, constants.W_OK);
    } catch {
      warnings.push({
        ...at,
        message: `${existing.path === dir ? dir : `${existing.path} (where ${dir} would be made)`} is not writable by this user`,
        fix: 'make it writable by the user malist runs as, or run malist check as that user',
      });
    }
  }
  return { problems, warnings };
}
