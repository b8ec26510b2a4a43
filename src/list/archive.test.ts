import { describe, expect, it } from 'vitest';
import { listArchiveUrl, messageIdSegment, permalink } from './archive.ts';
import type { ListSettings } from './settings.ts';

const list = (archive?: ListSettings['archive'], archive_url?: string): ListSettings => ({
  name: 'red',
  address: 'red@list.example.com',
  members: [],
  ...(archive ? { archive } : {}),
  ...(archive_url ? { archive_url } : {}),
});

describe('archive URLs', () => {
  it('derives the list page and permalinks from the web front URL', () => {
    const red = list({ web: 'public', url: 'https://lists.example.com/' });
    expect(listArchiveUrl(red)).toBe('https://lists.example.com/archive/red/');
    expect(permalink(red, 'a+b=c/d?e#f@example.com')).toBe(
      'https://lists.example.com/archive/red/m/a+b=c%2Fd%3Fe%23f@example.com',
    );
  });

  it('points nowhere for a private archive, and keeps an explicit archive_url', () => {
    expect(listArchiveUrl(list({ web: 'private', url: 'https://x.example' }))).toBeUndefined();
    expect(permalink(list({ web: 'private', url: 'https://x.example' }), 'a@b')).toBeUndefined();
    expect(listArchiveUrl(list(undefined, 'https://mail-archive.example/red'))).toBe(
      'https://mail-archive.example/red',
    );
    expect(permalink(list(), 'a@b')).toBeUndefined();
  });

  it('keeps a Message-ID readable in a path', () => {
    expect(messageIdSegment('CAJ+x=1@mail.gmail.com')).toBe('CAJ+x=1@mail.gmail.com');
    expect(messageIdSegment('<a b>')).toBe('%3Ca%20b%3E');
  });
});
