import { describe, expect, it } from 'vitest';
import { prng } from '../../test/helpers/prng.ts';
import { CHALLENGE_TEXT, challengeText } from './automated.ts';

describe('challengeText', () => {
  it('answers as CHALLENGE_TEXT over the first 4,000 characters, in any case', () => {
    const fragments = [
      'sender not pre-approved',
      'Sender not preapproved',
      'GUEST LIST',
      'allowed list',
      'whitelisted you, please click',
      'White-List  link',
      'click on the following link below to verify',
      'CLICK THE LINK TO BE ADDED',
      'protected by SpamArrest',
      'Protected By boxbe',
      'has been waitlisted',
      'verify that you are a human',
      'Verify you are real',
      'to ensure delivery of your e-mail',
      'To ensure delivery of your message',
      'approved',
      'click',
      'verify',
      'white',
      'the quick brown fox',
      'Kelvin \u212a sign',
      '\u0130stanbul',
      'caf\u00e9',
      '\n\n',
      ' ',
      'list',
      'link',
      'guest',
      'protected',
      'delivery',
    ];
    const next = prng(5);
    const random = (n: number) => Math.floor(next() * n);
    const flip = (s: string) =>
      [...s].map((c) => (random(2) ? c.toUpperCase() : c.toLowerCase())).join('');
    let matched = 0;
    for (let i = 0; i < 3000; i++) {
      const parts = Array.from({ length: 1 + random(8) }, () => {
        const f = fragments[random(fragments.length)]!;
        return random(3) ? f : flip(f);
      });
      const pad = random(5) === 0 ? 'x'.repeat(3990) : '';
      const text = pad + parts.join(random(2) ? ' ' : '');
      const expected = CHALLENGE_TEXT.test(text.slice(0, 4000));
      if (expected) matched++;
      expect(challengeText(text), text.slice(-200)).toBe(expected);
    }
    expect(matched).toBeGreaterThan(300); // both answers were exercised
  });
});
