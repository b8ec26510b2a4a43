import { describe, expect, it } from 'vitest';
import type { Envelope } from '../queue/envelope.ts';
import type { SpoolEntry } from '../queue/spool.ts';
import { formatTable, queueRows } from './queue-view.ts';
import { cut } from './table.ts';

const NOW = Date.parse('2026-12-05T10:00:00Z');

function envelope(states: Array<['pending' | 'delivered' | 'failed', number, string]>): Envelope {
  return {
    version: 1,
    id: 'e1aaaaaaaaaaaaaaaaaaaa',
    list: 'red',
    message_id: 'm1@example.org',
    sender: 'red-bounces@list.example.com',
    created: NOW - 120_000,
    rounds: 1,
    recipients: states.map(([state, code, response], i) => ({
      address: `r${i}@example.org`,
      state,
      attempts: 1,
      next_attempt: NOW + 60_000,
      code,
      response,
    })),
    last_error: '451 4.7.1 greylisted',
  };
}

describe('queue list rows', () => {
  it('an entry waiting with a dead letter beside it is one waiting row; codes once', () => {
    const waiting = envelope([
      ['delivered', 250, '250 ok'],
      ['failed', 550, '550 5.1.1 no such user'],
      ['pending', 451, '451 4.7.1 greylisted'],
    ]);
    const entries: SpoolEntry[] = [
      { id: waiting.id, where: 'new', envelope: waiting },
      { id: waiting.id, where: 'dead', envelope: structuredClone(waiting) },
    ];
    const rows = queueRows(entries, NOW);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      state: 'waiting',
      pending: 1,
      failed: 1,
      delivered: 1,
      last_error: '451 4.7.1 greylisted',
      problem: 'ETEMPORARY',
    });
    const table = formatTable(entries, NOW).split('\n');
    expect(table).toHaveLength(2);
    expect(table[1]).not.toContain('550 550');
  });

  it('a dead letter alone is a dead row: no pending count, its refusal, the class EENVELOPE', () => {
    const snapshot = envelope([
      ['failed', 550, '5.1.1 no such user'],
      ['pending', 451, '451 later'],
    ]);
    const [row] = queueRows([{ id: snapshot.id, where: 'dead', envelope: snapshot }], NOW);
    expect(row).toMatchObject({
      state: 'dead',
      pending: null,
      failed: 1,
      next_attempt: null,
      last_error: '550 5.1.1 no such user',
      problem: 'EENVELOPE',
      recipients: [{ address: 'r0@example.org', state: 'failed', reply: '550 5.1.1 no such user' }],
    });
  });

  it('cuts a long reason with a marker, and not with --wide', () => {
    expect(cut('x'.repeat(80), 70)).toBe(`${'x'.repeat(69)}…`);
    expect(cut('short', 70)).toBe('short');
    const long = envelope([['pending', 451, `451 ${'y'.repeat(100)}`]]);
    const entries: SpoolEntry[] = [{ id: long.id, where: 'new', envelope: long }];
    expect(formatTable(entries, NOW)).toContain('…');
    expect(formatTable(entries, NOW, true)).toContain(`451 ${'y'.repeat(100)}`);
  });
});
