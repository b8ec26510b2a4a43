/** The README's "Members from the shell" example, run line by line as a user would. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { malist, ROOT, tempConfig } from '../cli/run-malist.ts';

/** `a "b c" d # comment > out` → words, and the file stdout goes to. */
function shellWords(line: string): { words: string[]; out?: string } {
  const words: string[] = [];
  let out: string | undefined;
  const re = /"([^"]*)"|'([^']*)'|(#.*$)|(>)|(\S+)/g;
  let redirect = false;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    if (m[3]) break;
    if (m[4]) {
      redirect = true;
      continue;
    }
    const word = m[1] ?? m[2] ?? m[5]!;
    if (redirect) out = word;
    else words.push(word);
    redirect = false;
  }
  return { words, ...(out ? { out } : {}) };
}

describe('README members example', () => {
  it('every command of it succeeds on the shipped lists', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const at = readme.indexOf('**Members from the shell.**');
    const csv = /```csv\n([\s\S]*?)```/.exec(readme.slice(at))![1]!;
    const marker = readme.indexOf('<!-- members-example', at);
    const sh = /```sh\n([\s\S]*?)```/.exec(readme.slice(marker))![1]!;
    const dir = await tempConfig();
    await writeFile(join(dir, 'roster.csv'), csv);
    const lines = sh.trim().split('\n');
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) {
      const { words, out } = shellWords(line);
      expect(words[0]).toBe('malist');
      const ran = await malist([...words.slice(1), '--config', dir], { cwd: dir });
      expect([line, ran.code, ran.stderr]).toEqual([line, 0, '']);
      if (out) await writeFile(join(dir, out), ran.stdout);
    }
    const members = JSON.parse(
      (await malist(['members', 'list', 'red', '--json', '--config', dir], { cwd: dir })).stdout,
    );
    expect(members).toEqual([
      { address: 'alice@example.org', name: 'Alice Liddell', digest: true },
      { address: 'bob@example.net', name: 'Bob Martin' },
      { address: 'dave@example.org' },
    ]);
  }, 300_000);
});
