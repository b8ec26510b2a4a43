/** The static registry of distributors (YAML `type:` → default factory). */
import type { Distributor } from '../types.ts';
import createDeliverTo from './deliver-to.ts';
import createMaildirDistributor from './maildir.ts';
import createMultiple from './multiple.ts';

export const distributors = {
  maildir: createMaildirDistributor,
  multiple: createMultiple,
  'deliver-to': createDeliverTo,
} satisfies Record<string, (options: never) => Distributor>;

export type DistributorType = keyof typeof distributors;
