/** The build stamp, relative to the package root. */
export const STAMP: string;
/** True when `root`/dist holds a build newer than every file it is built from (src/, bench/case.ts, bench/post.ts). */
export function buildIsCurrent(root: string): boolean;
