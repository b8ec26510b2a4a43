/** Types of cached-script.js (plain JavaScript: bin/ runs before any build). */
/** The script's exports, as the caller knows them. */
export function runCached<Exports = Record<string, unknown>>(
  file: string,
  cacheFile: string,
  options?: { makeCache?: boolean },
): Exports;

/** Evaluates the script, runs its `main(argv)`, then writes its cache when main returned 0. */
export function trainCache(file: string, cacheFile: string, argv: string[]): Promise<number>;

/** True when V8 does not compile `file` from the cache in `cacheFile`. */
export function cacheRejected(file: string, cacheFile: string): boolean;

/** `text` inside the CommonJS wrapper the script is compiled in (once: wrapped text is kept). */
export function wrapped(text: string): string;
