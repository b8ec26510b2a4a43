import { describe, expect, it } from 'vitest';
import { permalink } from '../../list/archive.ts';
import type { ListSettings } from '../../list/settings.ts';
import { links, messageIdParam, pageParam } from './links.ts';

describe('the archive links', () => {
  it('make the permalink path List-Archive and Archived-At name', () => {
    const red = {
      name: 'red',
      address: 'red@list.example.com',
      archive: { web: 'members', url: 'https://lists.example.com/' },
    } as ListSettings;
    const id = 'a/b+c=d$e!f%g@example.com';
    expect(`https://lists.example.com${links.post('red', id)}`).toBe(permalink(red, id));
    expect(links.list('red')).toBe('/archive/red/');
    expect(links.month('red', '2026-11')).toBe('/archive/red/2026-11');
    expect(links.month('red', '2026-11', 2)).toBe('/archive/red/2026-11?page=2');
    expect(links.thread('red', 'x@y')).toBe('/archive/red/t/x@y');
  });

  it('take a Message-ID with or without <>, and a page number or 1', () => {
    expect(messageIdParam('<a@b>')).toBe('a@b');
    expect(messageIdParam(' a@b ')).toBe('a@b');
    expect(messageIdParam(undefined)).toBe('');
    expect(pageParam('3')).toBe(3);
    for (const bad of [undefined, '0', '-1', '1.5', 'x', '1e9']) expect(pageParam(bad)).toBe(1);
  });
});
