import { describe, expect, it } from 'vitest';
import { type Reply, ReplyParser } from './reply-reader.ts';

describe('ReplyParser', () => {
  it('joins multi-line replies and splits pipelined ones, across chunk boundaries', () => {
    const parser = new ReplyParser();
    const replies: Reply[] = [];
    for (const chunk of [
      '250-sink\r\n250-PIPE',
      'LINING\r\n250 SIZE 10\r\n354 go',
      ' on\r\n250 ok\n',
    ]) {
      parser.push(Buffer.from(chunk), (r) => replies.push(r));
    }
    expect(replies.map((r) => r.code)).toEqual([250, 354, 250]);
    expect(replies[0]?.lines).toEqual(['sink', 'PIPELINING', 'SIZE 10']);
    expect(replies[0]?.text).toBe('250-sink\n250-PIPELINING\n250 SIZE 10');
    expect(replies[1]?.text).toBe('354 go on');
  });

  it('refuses a line that is not a reply', () => {
    const parser = new ReplyParser();
    expect(() => parser.push(Buffer.from('hello\r\n'), () => {})).toThrow(/not an SMTP reply/);
  });
});
