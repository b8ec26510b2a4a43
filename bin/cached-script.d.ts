/** Types of cached-script.js (plain JavaScript: bin/ runs before any build). */
export function canRunCached(): boolean;
/** The script's exports, as the caller knows them. */
export function runCached<Exports = Record<string, unknown>>(
  file: string,
  cacheFile: string,
  options?: { makeCache?: boolean },
): Exports;
