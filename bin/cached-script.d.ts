/** Types of cached-script.js (plain JavaScript: bin/ runs before any build). */
/** The script's exports, as the caller knows them. */
export function runCached<Exports = Record<string, unknown>>(
  file: string,
  cacheFile: string,
  options?: { makeCache?: boolean },
): Exports;
