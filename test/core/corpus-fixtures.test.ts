/**
 * The corpus in test/fixtures/corpus is the bytes its sources published: every message is
 * described in MANIFEST.tsv (origin, licence, what it exercises) and matches the SHA-256 in
 * SOURCES.tsv, so an editor, a formatter or git's end-of-line conversion cannot quietly change
 * what the corpus tests exercise.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORPUS_DIR, corpusFiles } from '../helpers/corpus.ts';

function table(name: string): string[][] {
  const [head, ...rows] = readFileSync(join(CORPUS_DIR, name), 'utf8').trimEnd().split('\n');
  const width = head!.split('\t').length;
  return rows.map((row) => {
    const cols = row.split('\t');
    expect(cols, `${name}: ${row}`).toHaveLength(width);
    return cols;
  });
}

describe('test/fixtures/corpus', () => {
  const files = corpusFiles();

  it('describes every message in MANIFEST.tsv with its origin, licence and purpose', () => {
    const manifest = table('MANIFEST.tsv');
    expect(manifest.map((cols) => cols[0]).sort()).toEqual(files);
    for (const [file, repo, path, licence, what] of manifest) {
      expect([repo, path, licence, what].every(Boolean), file).toBe(true);
    }
  });

  it('keeps the published bytes of every message (SOURCES.tsv SHA-256)', () => {
    const sources = table('SOURCES.tsv');
    expect(sources.map((cols) => cols[0]).sort()).toEqual(files);
    for (const [file, , , , sha256] of sources) {
      const actual = createHash('sha256')
        .update(readFileSync(join(CORPUS_DIR, file!)))
        .digest('hex');
      expect(actual, file).toBe(sha256);
    }
  });
});
