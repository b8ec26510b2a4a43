/** Loading and checking a configuration for a command: one call, every problem collected. */
import { type Plans, planAll } from './build.ts';
import { type LoadedConfig, type LoadOptions, loadConfig } from './load.ts';
import { formatProblem } from './problem.ts';

export interface Opened {
  config: LoadedConfig;
  plans: Plans;
}

/** Loads `dir` and checks every unit; `config.problems` says what is wrong. */
export async function openConfig(options: LoadOptions = {}): Promise<Opened> {
  const config = await loadConfig(options);
  const plans = await planAll(config, options.cache);
  return { config, plans };
}

/** Writes every problem, one a line, to `out`. */
export function printProblems(config: LoadedConfig, out: NodeJS.WritableStream): void {
  for (const problem of config.problems) out.write(`${formatProblem(problem)}\n`);
}

/** Writes every warning (skipped, but stops nothing), one a line, to `out`. */
export function printWarnings(config: LoadedConfig, out: NodeJS.WritableStream): void {
  for (const warning of config.warnings) out.write(`warning: ${formatProblem(warning)}\n`);
}
