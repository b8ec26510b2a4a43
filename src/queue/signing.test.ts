/**
 * The queue signs what each round sends: a batched round once, a personalised round each
 * member's copy; a copy whose signing fails is deferred (never sent unsigned) and the
 * reactors are told. A recording transport stands in for SMTP here; the signatures
 * themselves are checked by dkimpy on what a real SMTP server received (test/auth/).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RecipientResult, StageFailure } from '../types.ts';
import { createQueue, type QueueDeps } from './queue.ts';
import type { SendJob, Transport } from './transport.ts';

const POST = Buffer.from('From: a@list.example\r\nSubject: s\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n');

/** Sends nothing: records each copy's bytes per recipient and answers 250. */
function recordingTransport(sent: Map<string, string[]>): Transport {
  return {
    name: 'smtp',
    async send(job: SendJob): Promise<RecipientResult[]> {
      const results = job.to.map((recipient) => {
        const bytes = (job.personalise ? job.personalise(recipient) : job.raw).toString();
        sent.set(recipient, [...(sent.get(recipient) ?? []), bytes]);
        return { recipient, status: 'delivered' as const, distributor: 'smtp', code: 250 };
      });
      await job.onTransaction?.(results);
      return results;
    },
    async close() {},
  };
}

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function queueWith(deps: Partial<QueueDeps>, sent: Map<string, string[]>) {
  dir = await mkdtemp(join(tmpdir(), 'malist-signing-'));
  const notices: StageFailure[] = [];
  let t = Date.UTC(2026, 0, 1);
  const queue = createQueue(
    { dir, retry: { initial_seconds: 60 } },
    {
      transport: recordingTransport(sent),
      onFailure: (f) => {
        notices.push(f);
      },
      now: () => t,
      ...deps,
    },
  );
  return { queue, notices, later: () => (t += 3_600_000) };
}

const input = (recipients: string[]) => ({
  id: 'e1',
  raw: POST,
  sender: 'red-bounces@list.example',
  recipients,
  list: 'red',
  seal: { authResults: 'list.example; none', cv: 'none' as const },
});

describe('the queue signs what each round sends', () => {
  it('a batched round signs its one copy once, with the entry sealed as it was verified', async () => {
    const sent = new Map<string, string[]>();
    const calls: unknown[] = [];
    const { queue } = await queueWith(
      {
        signer: (entry) => {
          calls.push(entry);
          return async (raw) => Buffer.concat([Buffer.from('DKIM-Signature: one\r\n'), raw]);
        },
      },
      sent,
    );
    const { results } = await queue.enqueue(input(['a@x.example', 'b@x.example']), {
      sourceKept: true,
    });
    expect(results.map((r) => r.status)).toEqual(['delivered', 'delivered']);
    expect(calls).toEqual([
      { id: 'e1', list: 'red', seal: { authResults: 'list.example; none', cv: 'none' } },
    ]);
    for (const copies of sent.values()) expect(copies).toEqual([`DKIM-Signature: one\r\n${POST}`]);
  });

  it('a personalised round signs each copy; a failed one is deferred, told, and signed again later', async () => {
    const sent = new Map<string, string[]>();
    let failOnce = true;
    const signed: string[] = [];
    const { queue, notices, later } = await queueWith(
      {
        personalise: () => (r) => Buffer.concat([POST, Buffer.from(`for ${r}\r\n`)]),
        signer: () => async (raw) => {
          const text = raw.toString();
          signed.push(text.slice(text.lastIndexOf('for ')).trim());
          if (failOnce && text.includes('for b@')) {
            failOnce = false;
            throw new Error('the signed copy failed its self-check, not sent: bh= mismatch');
          }
          return Buffer.concat([Buffer.from('DKIM-Signature: own\r\n'), raw]);
        },
      },
      sent,
    );
    const { results } = await queue.enqueue(input(['a@x.example', 'b@x.example', 'c@x.example']), {
      sourceKept: true,
    });
    expect(results.map((r) => [r.recipient, r.status])).toEqual([
      ['a@x.example', 'delivered'],
      ['b@x.example', 'queued'],
      ['c@x.example', 'delivered'],
    ]);
    expect(results[1]!.response).toMatch(/^not sent: .*self-check/);
    expect(sent.has('b@x.example')).toBe(false);
    expect(notices).toHaveLength(1);
    expect(String(notices[0]!.error.message)).toMatch(
      /1 copy\(ies\) of queue entry e1 for list red could not be signed and were deferred \(b@x\.example\)/,
    );
    later();
    const summary = await queue.run();
    expect(summary.delivered).toBe(1);
    expect(signed).toEqual([
      'for a@x.example',
      'for b@x.example',
      'for c@x.example',
      'for b@x.example',
    ]);
    for (const [r, copies] of sent)
      expect(copies).toEqual([`DKIM-Signature: own\r\n${POST}for ${r}\r\n`]);
  });

  it('an entry of a list without keys goes as it is', async () => {
    const sent = new Map<string, string[]>();
    const { queue } = await queueWith({ signer: () => undefined }, sent);
    await queue.enqueue(input(['a@x.example']), { sourceKept: true });
    expect(sent.get('a@x.example')).toEqual([POST.toString()]);
  });
});
