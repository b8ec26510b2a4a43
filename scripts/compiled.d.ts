/** A compiled build: its tsconfig, its stamp and the files it is built from (relative). */
export interface Build {
  tsconfig: string;
  stamp: string;
  sources: string[];
}
/** The package build (dist/) and the benchmark's (bench/dist/). */
export const BUILDS: { package: Build; bench: Build };
/** The package build's stamp, relative to the package root. */
export const STAMP: string;
/** True when `root` holds a build (the package's unless told) newer than every file it is built from. */
export function buildIsCurrent(root: string, build?: Build): boolean;
