/** The shared corpus of real-world messages (../shared/corpus beside the repository). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const CORPUS_DIR = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'corpus');

export interface CorpusMessage {
  file: string;
  raw: Buffer;
  what: string;
}

/** Every corpus message with its MANIFEST description; empty (and loud) when the corpus is absent. */
export function corpusMessages(): CorpusMessage[] {
  if (!existsSync(CORPUS_DIR)) {
    if (process.env.CI === 'true') throw new Error(`corpus missing at ${CORPUS_DIR}`);
    console.warn(`\n!!! corpus not found at ${CORPUS_DIR}: corpus tests are skipped !!!\n`);
    return [];
  }
  const manifest = new Map<string, string>();
  for (const line of readFileSync(join(CORPUS_DIR, 'MANIFEST.tsv'), 'utf8').split('\n').slice(1)) {
    const cols = line.split('\t');
    if (cols[0]) manifest.set(cols[0], cols[4] ?? '');
  }
  return readdirSync(CORPUS_DIR)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((file) => ({
      file,
      raw: readFileSync(join(CORPUS_DIR, file)),
      what: manifest.get(file) ?? '',
    }));
}
