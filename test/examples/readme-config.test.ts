/**
 * README's malist.yaml examples, checked by the real `malist check` as an operator would:
 * the configuration block of "## malist.yaml" and the private-CA servers; and the move of a
 * list's members from its YAML into a members file, as README words it.
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

  it("moving a list's members into a members file, as README says, keeps every member", async () => {
    const readme = (await readFile(join(ROOT, 'README.md'), 'utf8')).replace(/\s+/g, ' ');
    const move =
      /To move them: `malist (members export red [^`>]*)> lists\/red\.members`, then write `(members_file: red\.members)` in red\.yaml in place of its `members:`/.exec(
        readme,
      );
    expect(move).not.toBeNull();
    const dir = await tempConfig();
    const before = await malist(['members', 'list', 'red', '--json'], { cwd: dir });
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout)).toContainEqual({
      address: 'bob@example.net',
      name: 'Bob Martin',
    });
    const exported = await malist(move![1]!.trim().split(' '), { cwd: dir });
    expect(exported.code).toBe(0);
    await writeFile(join(dir, 'lists/red.members'), exported.stdout);
    const yaml = await readFile(join(dir, 'lists/red.yaml'), 'utf8');
    const inline = /^members:\n(?: {2}- .*\n)+/m;
    expect(yaml).toMatch(inline);
    await writeFile(join(dir, 'lists/red.yaml'), yaml.replace(inline, `${move![2]}\n`));
    const check = await checkJson(dir, {});
    expect(check.doc.errors).toEqual([]);
    const after = await malist(['members', 'list', 'red', '--json'], { cwd: dir });
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toEqual(JSON.parse(before.stdout));
  });
});
