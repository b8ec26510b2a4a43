import { describe, expect, it } from 'vitest';
import { bareVerdict } from '../../test/helpers/auth-keys.ts';
import { HeaderBlock } from '../mail/header-block.ts';
import { authResultsValue, stampAuthResults } from './results-header.ts';

const verdict = bareVerdict({
  results: ['dkim=pass header.i=@author.example', 'dmarc=pass header.from=author.example'],
});

describe('authResultsValue', () => {
  it('is the authserv-id and one resinfo per line, or none', () => {
    expect(authResultsValue(verdict)).toBe(
      'list.example.org;\r\n dkim=pass header.i=@author.example;\r\n dmarc=pass header.from=author.example',
    );
    expect(authResultsValue({ authservId: 'list.example.org', results: [] })).toBe(
      'list.example.org; none',
    );
    expect(authResultsValue({ authservId: 'odd id', results: [] })).toBe('"odd id"; none');
  });
});

describe('stampAuthResults', () => {
  it('removes fields claiming the list id, keeps the others byte for byte, puts its own on top', () => {
    const raw = Buffer.from(
      'Received: from a by b\r\n' +
        'Authentication-Results: List.Example.ORG; dkim=pass (forged)\r\n' +
        'Authentication-Results: mx.example.net;\r\n\tspf=pass smtp.mailfrom=bob@author.example\r\n' +
        'authentication-results: list.example.org 1; none\r\n' +
        'Subject: Hi\r\n\r\nbody\r\n',
    );
    const { header } = HeaderBlock.parse(raw);
    expect(stampAuthResults(header, verdict)).toBe(2);
    expect(header.toBuffer().toString()).toBe(
      'Authentication-Results: list.example.org; dkim=pass header.i=@author.example;\r\n' +
        ' dmarc=pass header.from=author.example\r\n' +
        'Received: from a by b\r\n' +
        'Authentication-Results: mx.example.net;\r\n\tspf=pass smtp.mailfrom=bob@author.example\r\n' +
        'Subject: Hi\r\n\r\n',
    );
  });
});
