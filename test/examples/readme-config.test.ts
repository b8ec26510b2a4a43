/**
 * README's malist.yaml examples, checked by the real `malist check` as an operator would:
 * the configuration block of "## malist.yaml" and the private-CA servers.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { malist, ROOT, tempConfig } from '../cli/run-malist.ts';

/** Every ```yaml block of README.md. */
async function yamlBlocks(): Promise<string[]> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  return [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

async function checkJson(dir: string, env: NodeJS.ProcessEnv) {
  const r = await malist(['check', '--json'], { cwd: dir, env });
  return { code: r.code, stderr: r.stderr, doc: JSON.parse(r.stdout) };
}

let pem: string;
beforeAll(() => {
  pem = execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      '/dev/null',
      '-subj',
      '/CN=Internal CA',
      '-days',
      '2',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
});

describe("README's malist.yaml examples", () => {
  it('the malist.yaml block checks out: no problem, no deprecated spelling', async () => {
    const block = (await yamlBlocks()).find((b) => b.startsWith('state_dir: var/state'));
    expect(block).toBeDefined();
    const dir = await tempConfig(block);
    await writeFile(join(dir, 'smtp.pw'), 'secret\n', { mode: 0o600 });
    const { code, stderr, doc } = await checkJson(dir, { POP_PW: 'x' });
    expect(stderr).toBe('');
    expect(doc.errors).toEqual([]);
    // (/var/spool/malist and /var/log/malist may be unwritable to a test user: a warning.)
    expect(
      doc.warnings.filter((w: { message: string }) => !w.message.includes('not writable')),
    ).toEqual([]);
    expect(code).toBe(0);
    expect(doc).toMatchObject({ sources: ['pop3'], distribute: ['queue'] });
  });

  it('the private-CA servers check out with the CA beside the YAML, and fail at the line without it', async () => {
    const block = (await yamlBlocks()).find((b) => b.includes('ca_file: ca/internal-ca.pem'));
    expect(block).toBeDefined();
    const dir = await tempConfig(
      `state_dir: state\n${block}fetch: [{ type: pop3, server: mailbox }]\ndistribute: { type: queue, server: outgoing }\nqueue: { dir: spool }\n`,
    );
    const missing = await checkJson(dir, { POP_PW: 'x' });
    expect(missing.code).toBe(78);
    expect(missing.doc.errors).toEqual([
      expect.objectContaining({
        file: 'malist.yaml',
        line: 3,
        key: 'servers.outgoing.ca_file',
        message: expect.stringMatching(/^cannot read the CA file .*internal-ca\.pem: ENOENT$/),
      }),
      expect.objectContaining({ line: 4, key: 'servers.mailbox.ca_file' }),
    ]);
    await mkdir(join(dir, 'ca'));
    await writeFile(join(dir, 'ca/internal-ca.pem'), pem);
    const { code, stderr, doc } = await checkJson(dir, { POP_PW: 'x' });
    expect(stderr).toBe('');
    expect(doc.errors).toEqual([]);
    expect(doc.warnings).toEqual([]);
    expect(code).toBe(0);
  });
});
