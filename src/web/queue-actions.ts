/**
 * A list's part of the mail queues, for the queue page and the API: its entries (waiting,
 * being delivered, in their first round) and its dead letters, and the operator's two
 * verbs — retry now, drop (give up on the pending recipients; on a dead letter, remove it).
 * An entry of another list is not found, whatever its ID.
 */
import { nextAttempt } from '../queue/envelope.ts';
import type { Queue } from '../queue/queue.ts';
import type { SpoolEntry } from '../queue/spool.ts';
import type { SiteState, WebList } from './site.ts';

export interface QueueRow {
  id: string;
  state: 'waiting' | 'delivering' | 'first round' | 'dead';
  created: string;
  pending: number;
  failed: number;
  delivered: number;
  nextAttempt?: string;
  lastError: string;
  messageId?: string;
  /** Refused or expired recipients (dead letters), with what the server said. */
  refused: Array<{ address: string; response: string }>;
}

function rowOf(e: SpoolEntry): QueueRow {
  const r = e.envelope.recipients;
  const next = e.where === 'dead' || e.firstRound ? undefined : nextAttempt(e.envelope);
  return {
    id: e.id,
    state: e.firstRound
      ? 'first round'
      : e.where === 'dead'
        ? 'dead'
        : e.where === 'cur'
          ? 'delivering'
          : 'waiting',
    created: new Date(e.envelope.created).toISOString(),
    pending: r.filter((x) => x.state === 'pending').length,
    failed: r.filter((x) => x.state === 'failed').length,
    delivered: r.filter((x) => x.state === 'delivered').length,
    ...(next !== undefined ? { nextAttempt: new Date(next).toISOString() } : {}),
    lastError: (e.envelope.last_error ?? '').slice(0, 300),
    ...(e.envelope.message_id ? { messageId: e.envelope.message_id } : {}),
    refused: r
      .filter((x) => x.state === 'failed')
      .slice(0, 50)
      .map((x) => ({ address: x.address, response: (x.response ?? '').slice(0, 300) })),
  };
}

async function entriesOf(
  state: SiteState,
  list: WebList,
): Promise<Array<{ entry: SpoolEntry; queue: Queue }>> {
  const out: Array<{ entry: SpoolEntry; queue: Queue }> = [];
  for (const queue of state.queues)
    for (const entry of await queue.list())
      if (entry.envelope.list === list.name) out.push({ entry, queue });
  return out;
}

export async function queueRows(state: SiteState, list: WebList): Promise<QueueRow[]> {
  return (await entriesOf(state, list)).map((x) => rowOf(x.entry));
}

export type QueueVerbResult = 'done' | 'busy' | 'unknown';

/** Delivers entry `id` of `list` now; what this round did. */
export async function retryEntry(
  state: SiteState,
  list: WebList,
  id: string,
): Promise<{ result: QueueVerbResult; message: string }> {
  const found = (await entriesOf(state, list)).find(
    (x) => x.entry.id === id && x.entry.where !== 'dead',
  );
  if (!found) return { result: 'unknown', message: `no entry ${id} waiting for ${list.name}` };
  const s = await found.queue.run({ ids: [id], force: true });
  return {
    result: 'done',
    message: `${id.slice(0, 16)}: ${s.delivered} delivered, ${s.deferred} deferred, ${s.failed} failed${s.errors.length ? `; ${s.errors.join('; ')}` : ''}`,
  };
}

/** Drops entry `id` of `list` (a waiting one becomes a dead letter; a dead letter goes). */
export async function dropEntry(
  state: SiteState,
  list: WebList,
  id: string,
): Promise<{ result: QueueVerbResult; message: string }> {
  const found = (await entriesOf(state, list)).find((x) => x.entry.id === id);
  if (!found) return { result: 'unknown', message: `no entry ${id} for ${list.name}` };
  const outcome = await found.queue.drop(id);
  const text = {
    dropped: 'dropped: its pending recipients were given up; kept as a dead letter',
    'removed-dead-letter': 'dead letter removed',
    busy: 'being delivered right now; try again in a moment',
    unknown: 'gone already',
  }[outcome];
  return {
    result: outcome === 'busy' ? 'busy' : outcome === 'unknown' ? 'unknown' : 'done',
    message: `${id.slice(0, 16)}: ${text}`,
  };
}
