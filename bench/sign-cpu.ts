/**
 * What the self-check costs on one thread, apart from the key operations (issue 19): the
 * queue's personal copies (the bench post as the list sends it: LF line ends, its List-*
 * fields, a one-click URL per member, with `--footer` a personal footer too) signed by
 * `createCopySigner` with the self-check on and off, rounds alternated, the median of each.
 * With `--no-crypto` the RSA/ed25519 operations are stubbed (node:crypto's sign and verify
 * replaced before src/auth is loaded), which leaves the parsing, canonicalising and copying
 * that the code controls, steady enough to compare on a loaded machine.
 *
 *   node --import tsx bench/sign-cpu.ts [--no-crypto] [--footer] [--ed25519]
 */
import { generateKeyPairSync } from 'node:crypto';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { loadavg } from 'node:os';
import { makePost } from './post.ts';

const noCrypto = process.argv.includes('--no-crypto');
const footer = process.argv.includes('--footer');
const algorithm = process.argv.includes('--ed25519') ? 'ed25519-sha256' : 'rsa-sha256';
if (noCrypto) {
  const crypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  const fixed = Buffer.alloc(256, 7);
  Object.assign(crypto, { sign: () => fixed, verify: () => true });
  syncBuiltinESMExports();
}
const { createCopySigner } = await import('../src/auth/copy-signer.ts');
const { signingKeyFrom } = await import('../src/auth/keys.ts');

const COPIES = 1_000;
const ROUNDS = 15;
const pair =
  algorithm === 'ed25519-sha256'
    ? generateKeyPairSync('ed25519')
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
const key = signingKeyFrom(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), {
  domain: 'list.example.test',
  selector: 'bench',
  key_file: 'bench.pem',
});
const post = makePost(5 * 1024, 'sign-cpu').toString('latin1');
const cut = post.indexOf('\n\n') + 1;
const list = 'bench@list.example.test';
const copies = Array.from({ length: COPIES }, (_, i) => {
  const url = `https://list.example.test/unsubscribe/bench/m${i}%40example.test/${(i * 7919).toString(16).padStart(32, '0')}`;
  return Buffer.from(
    `${post.slice(0, cut)}X-Loop: ${list}\nList-Id: bench <bench.list.example.test>\n` +
      `List-Post: <mailto:${list}>\nList-Help: <mailto:bench-request@list.example.test?subject=help>\n` +
      `List-Unsubscribe: <mailto:bench-request@list.example.test?subject=unsubscribe>,\n <${url}>\n` +
      `List-Owner: <mailto:bench-owner@list.example.test>\nPrecedence: list\n` +
      `List-Unsubscribe-Post: List-Unsubscribe=One-Click\n${post.slice(cut)}` +
      (footer ? `-- \nYou are m${i}@example.test. Leave the list: ${url}\n` : ''),
    'latin1',
  );
});
const signers = {
  on: createCopySigner({ dkim: [key], selfCheck: true }),
  off: createCopySigner({ dkim: [key], selfCheck: false }),
};
const times: Record<'on' | 'off', number[]> = { on: [], off: [] };
const load = loadavg()[0]!;
for (let round = 0; round < ROUNDS; round++) {
  for (const mode of ['on', 'off'] as const) {
    const before = process.cpuUsage();
    for (const copy of copies) await signers[mode].sign(copy);
    const used = process.cpuUsage(before);
    times[mode].push((used.user + used.system) / COPIES);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const [on, off] = [median(times.on), median(times.off)];
process.stdout.write(
  `${algorithm}${noCrypto ? ' (key operations stubbed)' : ''}${footer ? ', personal footer' : ', one-click URL only'}, ` +
    `load ${load.toFixed(1)}–${loadavg()[0]!.toFixed(1)}: CPU a copy, self-check on ${on.toFixed(1)} µs, ` +
    `off ${off.toFixed(1)} µs, the self-check ${(on - off).toFixed(1)} µs (medians of ${ROUNDS} × ${COPIES})\n`,
);
