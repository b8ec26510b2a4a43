/** The static registry of top-level processors (YAML `type:` → default factory). */
import type { Processor } from '../types.ts';
import createManyLists from './many-lists.ts';
import createSingleList from './single-list.ts';

export const processors = {
  'single-list': createSingleList,
  'many-lists': createManyLists,
} satisfies Record<string, (options: never) => Processor>;

export type ProcessorType = keyof typeof processors;
