import { describe, expect, it } from 'vitest';
import { parseCommandLine, parseRequest } from '../../src/commands/parse.ts';

const TOKEN = `${'a'.repeat(32)}-${'b'.repeat(24)}`;

describe('parseCommandLine', () => {
  it.each([
    ['subscribe', { verb: 'subscribe' }],
    ['SUBSCRIBE digest', { verb: 'subscribe', digest: true }],
    ['join other@example.com', { verb: 'subscribe', address: 'other@example.com' }],
    ['unsubscribe', { verb: 'unsubscribe' }],
    ['leave <me@example.com>', { verb: 'unsubscribe', address: 'me@example.com' }],
    ['help', { verb: 'help' }],
    [`confirm ${TOKEN.toUpperCase()}`, { verb: 'confirm', token: TOKEN }],
    [`approve ${TOKEN}`, { verb: 'approve', token: TOKEN }],
    ['set digest on', { verb: 'set', option: 'digest', value: true }],
    ['set nomail off', { verb: 'set', option: 'nomail', value: false }],
    ['set mail', { verb: 'set', option: 'mail', value: true }],
    ['set plain on', { verb: 'set', option: 'plain', value: true }],
    ['subscribe digest=plain', { verb: 'subscribe', digest: true, plain: true }],
    ['end', 'end'],
  ])('%s', (line, want) => {
    expect(parseCommandLine(line)).toEqual(want);
  });

  it.each(['hello there', 'confirm nonsense', 'set colour blue', 'subscribe me please', 'help me'])(
    'not a command: %s',
    (line) => {
      expect(parseCommandLine(line)).toBeUndefined();
    },
  );
});

describe('parseRequest', () => {
  it('takes a confirmation reply from the subject and ignores the quoted text', () => {
    const got = parseRequest({
      subject: `Re: confirm ${TOKEN}`,
      body: `Yes please.\n\nOn Mon, 23 Nov 2026, red-request@list.example wrote:\n> To confirm, reply keeping the subject.\n> unsubscribe\n> confirm ${TOKEN}\n`,
    });
    expect(got.commands).toEqual([{ verb: 'confirm', token: TOKEN }]);
    expect(got.unknown).toEqual(['Yes please.']);
  });

  it('reads body commands until end or the signature, without repeats', () => {
    const got = parseRequest({
      subject: 'subscribe',
      body: 'subscribe\nset digest on\n\n-- \nAlice\nunsubscribe\n',
    });
    expect(got.commands).toEqual([
      { verb: 'subscribe' },
      { verb: 'set', option: 'digest', value: true },
    ]);
    expect(parseRequest({ body: 'help\nend\nunsubscribe' }).commands).toEqual([{ verb: 'help' }]);
  });

  it('stops reading a letter after a few lines that are not commands', () => {
    const body = [
      'Dear list,',
      'I would like',
      'to know',
      'many things',
      'about lists',
      'unsubscribe',
    ].join('\n');
    const got = parseRequest({ subject: 'question', body });
    expect(got.commands).toEqual([]);
    expect(got.unknown).toHaveLength(5);
  });

  it('stops at an Outlook quoted original', () => {
    const body =
      'ok\r\n\r\n-----Original Message-----\r\nFrom: red-request@list.example\r\n\r\n    unsubscribe\r\n';
    expect(parseRequest({ subject: 'RE: subscribe', body }).commands).toEqual([
      { verb: 'subscribe' },
    ]);
    const outlook = `yes\r\n________________________________\r\nunsubscribe\r\n`;
    expect(parseRequest({ subject: 'AW: help', body: outlook }).commands).toEqual([
      { verb: 'help' },
    ]);
  });

  it('puts the command of the address first', () => {
    const got = parseRequest({
      addressCommand: { verb: 'unsubscribe' },
      subject: '',
      body: 'thanks',
    });
    expect(got.commands).toEqual([{ verb: 'unsubscribe' }]);
  });
});
