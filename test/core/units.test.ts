import { describe, expect, it } from 'vitest';
import { Hold, isSignal } from '../../src/errors.ts';
import { normalizeAddress, parseAddressList, sameAddress } from '../../src/mail/address.ts';
import { createListMail, mailBytes } from '../../src/mail/list-mail.ts';
import createManyLists from '../../src/processors/many-lists.ts';
import createSingleList from '../../src/processors/single-list.ts';
import { applyPrefix } from '../../src/processors/subject-prefix.ts';
import type { ListMail } from '../../src/types.ts';
import { post } from '../helpers/memory-units.ts';

const mailOf = (raw: string, recipient?: string) =>
  createListMail(Buffer.from(raw), { fetcher: 't', id: '1', recipient });

describe('addresses', () => {
  it('parses groups, encoded words and IDN', () => {
    const list = parseAddressList(
      'Team: a@x.example, "B, Jr." <b@y.example>;, =?utf-8?q?J=C3=BCrgen?= <j@bücher.de>',
    );
    expect(list.map((m) => m.address)).toEqual(['a@x.example', 'b@y.example', 'j@bücher.de']);
    expect(list[2]!.name).toBe('Jürgen');
    expect(normalizeAddress('J@Bücher.DE')).toBe('j@xn--bcher-kva.de');
    expect(sameAddress('<Alice@Example.COM>', 'alice@example.com')).toBe(true);
  });

  it('never matches by substring', () => {
    expect(sameAddress('alice@example.com', 'malice@example.com')).toBe(false);
    expect(sameAddress('alice@example.com', 'alice@example.com.evil')).toBe(false);
  });

  it('reads blank-separated address lists and survives garbage', () => {
    expect(parseAddressList('a@x.example b@y.example').map((m) => m.address)).toEqual([
      'a@x.example',
      'b@y.example',
    ]);
    expect(parseAddressList('<<<@@@;;;')).toBeInstanceOf(Array);
    expect(normalizeAddress('not an address')).toBe('');
  });
});

describe('subject prefix', () => {
  it.each([
    ['Hello', '[Red] Hello'],
    ['[Red] Hello', '[Red] Hello'],
    ['Re: [Red] Hello', '[Red] Re: Hello'],
    ['Re: [Red] Re: [Red] x', '[Red] Re: x'],
    ['RE: re: [red] x', '[Red] Re: x'],
    ['', '[Red] (no subject)'],
    ['  [Red]  ', '[Red] (no subject)'],
    ['Fwd: Hello', '[Red] Fwd: Hello'],
    ['Re: Fwd: [Red] Hello', '[Red] Re: Fwd: Hello'],
    ['AW: Sv: VS: Re[2]: Re^3: x', '[Red] Re: x'],
    ['Fw: Re: x', '[Red] Fw: Re: x'],
  ])('%j → %j', (input, expected) => {
    expect(applyPrefix(input, '[Red] ')).toBe(expected);
  });

  it('can put the prefix after Re:', () => {
    expect(applyPrefix('Re: [Red] Re: [Red] x', '[Red] ', 'after-re')).toBe('Re: [Red] x');
  });

  it('handles encoded-word subjects and keeps raw 8-bit bytes', async () => {
    const list = createSingleList({
      name: 'red',
      address: 'red@l.example',
      members: [],
      posting: 'open',
      subject_prefix: '[Red] ',
    });
    const encoded = await list.process(
      mailOf('From: a@x.example\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\r\nx'),
    );
    expect(encoded.header.getDecoded('Subject')).toBe('[Red] Grüße');
    const latin1 = createListMail(
      Buffer.from('From: a@x.example\r\nSubject: Gr\xfc\xdfe\r\n\r\nx', 'latin1'),
      {
        fetcher: 't',
        id: '2',
      },
    );
    const out = await list.process(latin1);
    expect(mailBytes(out).toString('latin1')).toContain('Subject: [Red] Gr\xfc\xdfe\r\n');
  });
});

describe('single-list', () => {
  const list = () =>
    createSingleList({
      name: 'red',
      address: 'red@list.example.com',
      members: ['Alice@Example.com'],
      subject_prefix: '[Red] ',
    });

  it('accepts a member by normal address and sets the envelope', async () => {
    const out = await list().process(mailOf(post({ from: 'ALICE <alice@EXAMPLE.com>' })));
    expect(out.ml_send_to).toEqual(['Alice@Example.com']);
    expect(out.ml_sender).toBe('red-bounces@list.example.com');
    expect(out.ml_list).toBe('red <red@list.example.com>');
  });

  it('holds a non-member whose address only contains a member address', async () => {
    const error = await list()
      .process(mailOf(post({ from: 'malice@example.com' })))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Hold);
    expect((error as Hold).unit).toBe('posting-policy');
  });
});

describe('many-lists', () => {
  const red = createSingleList({
    name: 'red',
    address: 'red@l.example',
    members: ['a@x.example'],
    posting: 'open',
  });
  const blue = createSingleList({
    name: 'blue',
    address: 'blue@l.example',
    members: ['b@x.example'],
    posting: 'members',
  });
  const router = createManyLists({ lists: [red, blue] });

  it('routes by every address in To, Cc, Delivered-To and the envelope', async () => {
    const byCc = (await router.process(
      mailOf(
        post({ to: 'someone@x.example, other@y.example' }).replace(
          'Subject',
          'Cc: x@y, RED@l.example\r\nSubject',
        ),
      ),
    )) as ListMail;
    expect(byCc.ml_list_name).toBe('red');
    const byEnvelope = (await router.process(
      mailOf(post({ from: 'b@x.example', to: 'undisclosed-recipients:;' }), 'blue@l.example'),
    )) as ListMail;
    expect(byEnvelope.ml_list_name).toBe('blue');
  });

  it('makes one copy per list for a cross-post; a list that signals carries its signal', async () => {
    const out = await router.process(
      mailOf(post({ from: 'a@x.example', to: 'red@l.example, blue@l.example' })),
    );
    expect(Array.isArray(out)).toBe(true);
    const copies = out as ListMail[];
    expect(copies.map((c) => c.ml_list_name)).toEqual(['red', 'blue']);
    expect(copies[0]!.ml_signal).toBeUndefined();
    expect(isSignal(copies[1]!.ml_signal)).toBe(true);
  });

  it('holds mail for none of its lists', async () => {
    await expect(router.process(mailOf(post({ to: 'nobody@l.example' })))).rejects.toBeInstanceOf(
      Hold,
    );
  });
});
