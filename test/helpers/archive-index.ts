/**
 * Archive indexes in fresh temp roots for a test file: `const fresh = freshIndexes('name')`
 * at the top of the file, then `await fresh()` in a test (or `await fresh(root)` to open an
 * existing root again); each still open is closed after its test.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { ArchiveIndex } from '../../src/archive/db.ts';

export function freshIndexes(name: string): (root?: string) => Promise<ArchiveIndex> {
  const open: ArchiveIndex[] = [];
  afterEach(() => {
    for (const index of open.splice(0)) if (index.db.open) index.close();
  });
  return async (root) => {
    const index = ArchiveIndex.open(
      root ?? (await mkdtemp(join(tmpdir(), `malist-archive-${name}-`))),
    );
    open.push(index);
    return index;
  };
}
