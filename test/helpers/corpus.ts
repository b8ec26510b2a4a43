/**
 * The corpus of real-world messages, kept in the repository (test/fixtures/corpus, with its
 * MANIFEST.tsv: origin, licence and what each file exercises) so `npm test` reads nothing
 * outside it. Every test that needs a corpus file takes its path from here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const CORPUS_DIR = resolve(import.meta.dirname, '..', 'fixtures', 'corpus');

/** The names of the corpus messages (`*.eml`), sorted. */
export function corpusFiles(): string[] {
  return readdirSync(CORPUS_DIR)
    .filter((f) => f.endsWith('.eml'))
    .sort();
}

export interface CorpusMessage {
  file: string;
  raw: Buffer;
  what: string;
}

/** Every corpus message with its MANIFEST description. */
export function corpusMessages(): CorpusMessage[] {
  const manifest = new Map<string, string>();
  for (const line of readFileSync(join(CORPUS_DIR, 'MANIFEST.tsv'), 'utf8').split('\n').slice(1)) {
    const cols = line.split('\t');
    if (cols[0]) manifest.set(cols[0], cols[4] ?? '');
  }
  return corpusFiles().map((file) => ({
    file,
    raw: readFileSync(join(CORPUS_DIR, file)),
    what: manifest.get(file) ?? '',
  }));
}
