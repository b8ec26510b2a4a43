import { describe, expect, it, vi } from 'vitest';
import { testKey } from '../../test/helpers/auth-keys.ts';
import type { KeyPins } from '../auth/key-pins.ts';
import { createSelfCheck } from '../auth/self-check.ts';
import { listSigning, type SigningPlan } from './signing.ts';

const rsa = testKey('rsa-sha256', 'list.example.org', 'r1');
const plan: SigningPlan = {
  dkim: [rsa],
  dkimOptions: [{ domain: rsa.domain, selector: rsa.selector, key_file: rsa.keyFile }],
  arc: rsa,
  arcOptions: { domain: rsa.domain, selector: rsa.selector, key_file: rsa.keyFile },
  selfCheck: true,
  published: [],
};
const post = Buffer.from(
  'From: Alice <alice@example.org>\nTo: red@list.example.org\nSubject: Hi\n' +
    'Message-ID: <m1@example.org>\n\nHello\n',
);
const loopFree = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));
const pinsSpy = () =>
  ({ check: vi.fn(async () => []), accept: vi.fn(), read: vi.fn() }) as unknown as KeyPins & {
    check: ReturnType<typeof vi.fn>;
  };

describe('listSigning on the main thread', () => {
  it('warms up with a throwaway copy when the loop is first free: no key check or record, no copy out', async () => {
    const pins = pinsSpy();
    const signing = listSigning(new Map([['red', plan]]), { pins })!;
    await loopFree();
    expect(pins.check).not.toHaveBeenCalled();
    // The first real copy is checked against the records, signed, sealed and verifies.
    const sign = signing.signer({ id: 'e1', list: 'red' })!;
    const signed = await sign(post);
    expect(pins.check).toHaveBeenCalledTimes(1);
    expect(createSelfCheck({ dkim: [rsa] }).problems(signed)).toEqual([]);
    await signing.close();
  });
});
