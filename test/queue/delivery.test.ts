import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatTable } from '../../src/cli/queue.ts';
import { entryIdFor } from '../../src/queue/entry-id.ts';
import { appendSentLog } from '../../src/queue/sent-log.ts';
import { currentHolder, formatHolder, processStartTime } from '../../src/state/lock.ts';
import { listPost, type QueueFixture, queueFixture } from './helpers.ts';

let fx: QueueFixture;
afterEach(async () => {
  await fx?.close();
});

const statuses = (results: { recipient: string; status: string }[]) =>
  Object.fromEntries(results.map((r) => [r.recipient, r.status]));

describe('queue distributor against a fault-injecting SMTP server', () => {
  it('delivers at once when the server is up; a clean first round spools nothing', async () => {
    fx = await queueFixture();
    const post = listPost('p1', ['a@x.test', 'b@x.test']);
    const report = await fx.distributor.distribute(post);
    expect(statuses(report.results)).toEqual({ 'a@x.test': 'delivered', 'b@x.test': 'delivered' });
    for (const sub of ['new', 'cur', 'done', 'dead'])
      expect(await readdir(join(fx.spool, sub)), sub).toEqual([]);
    expect((await readdir(join(fx.spool, 'tmp'))).filter((n) => !n.startsWith('.holder@'))).toEqual(
      [],
    );
    // The sent-log is the record: a header naming the post, then one line per recipient.
    const id = entryIdFor('red', post.key);
    const lines = (await readFile(join(fx.spool, 'sent', `${id}.log`), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ header: { id, message_id: 'p1@example.com', list: 'red' } });
    expect(lines.slice(1).map((l) => [l.r, l.s])).toEqual([
      ['a@x.test', 'delivered'],
      ['b@x.test', 'delivered'],
    ]);
    // The process's holder file (what first-round claims link to) goes when the queue closes.
    await fx.distributor.close?.();
    expect(await readdir(join(fx.spool, 'tmp'))).toEqual([]);
  });

  it('a first round cut short (a stale claim, the post still at its source) is finished by the next try, once each', async () => {
    fx = await queueFixture();
    const post = listPost('p13', ['a@x.test', 'b@x.test']);
    const id = entryIdFor('red', post.key);
    // What a killed process leaves: its claim file, and a sent-log with a's 250.
    for (const sub of ['cur', 'sent']) await mkdir(join(fx.spool, sub), { recursive: true });
    const dead = { host: currentHolder().host, pid: 999_999_999, start: '1' };
    await writeFile(join(fx.spool, 'cur', `${id}@${formatHolder(dead)}`), '');
    await appendSentLog(join(fx.spool, 'sent', `${id}.log`), [
      { recipient: 'a@x.test', status: 'delivered', distributor: 'smtp', code: 250 },
    ]);
    const report = await fx.distributor.distribute(post);
    expect(statuses(report.results)).toEqual({ 'a@x.test': 'delivered', 'b@x.test': 'delivered' });
    expect(fx.server.count('a@x.test')).toBe(0);
    expect(fx.server.count('b@x.test')).toBe(1);
    expect(await readdir(join(fx.spool, 'cur'))).toEqual([]);
  });

  it('while another live process has the post in its first round, a second copy is spooled, not sent', async () => {
    fx = await queueFixture();
    const post = listPost('p14', ['a@x.test']);
    const id = entryIdFor('red', post.key);
    // The parent process (alive) holds the claim.
    const parent = {
      host: currentHolder().host,
      pid: process.ppid,
      start: processStartTime(process.ppid) ?? '0',
    };
    await mkdir(join(fx.spool, 'cur'), { recursive: true });
    const claim = join(fx.spool, 'cur', `${id}@${formatHolder(parent)}`);
    await writeFile(claim, '');
    const report = await fx.distributor.distribute(post);
    expect(statuses(report.results)).toEqual({ 'a@x.test': 'queued' });
    expect(fx.server.count('a@x.test')).toBe(0);
    expect(await readdir(join(fx.spool, 'new'))).toEqual([id]);
    // `malist queue list` shows both: the copy waiting, and the post in its first round.
    const listed = await fx.distributor.queue.list();
    expect(listed.map((e) => [e.where, e.firstRound ?? false, e.holder?.pid])).toEqual([
      ['new', false, undefined],
      ['cur', true, process.ppid],
    ]);
    expect(formatTable(listed, Date.now())).toContain(`first round, pid ${process.ppid}`);
    // The runner leaves it while that claim lives, and delivers it once it is gone.
    expect((await fx.distributor.queue.run({ force: true })).delivered).toBe(0);
    await rm(claim);
    expect((await fx.distributor.queue.run({ force: true })).delivered).toBe(1);
    expect(fx.server.count('a@x.test')).toBe(1);
  });

  it('451 for some recipients: only those are retried, with backoff, and delivered later', async () => {
    fx = await queueFixture();
    fx.server.addRule({ stage: 'rcpt', recipient: /^soft/, reply: { code: 451 }, times: 2 });
    const to = ['ok1@x.test', 'soft1@x.test', 'ok2@x.test', 'soft2@x.test'];
    const report = await fx.distributor.distribute(listPost('p2', to));
    expect(statuses(report.results)).toEqual({
      'ok1@x.test': 'delivered',
      'soft1@x.test': 'queued',
      'ok2@x.test': 'delivered',
      'soft2@x.test': 'queued',
    });
    expect(report.results.find((r) => r.recipient === 'soft1@x.test')?.code).toBe(451);
    // Not due yet: a run now sends nothing.
    expect((await fx.distributor.queue.run()).processed).toBe(0);
    fx.clock.t += 61_000;
    const summary = await fx.distributor.queue.run();
    expect(summary).toMatchObject({ processed: 1, delivered: 2, finished: 1 });
    const retry = fx.server.accepted.at(-1);
    expect(retry?.to.sort()).toEqual(['soft1@x.test', 'soft2@x.test']);
    for (const r of to) expect(fx.server.count(r)).toBe(1);
    expect(fx.server.duplicates()).toEqual([]);
  });

  it('550 for one: the rest delivered, that one dead-lettered with a notice', async () => {
    fx = await queueFixture();
    fx.server.addRule({
      stage: 'rcpt',
      recipient: 'gone@x.test',
      reply: { code: 550, message: 'No such user' },
    });
    const report = await fx.distributor.distribute(
      listPost('p3', ['a@x.test', 'gone@x.test', 'b@x.test']),
    );
    expect(statuses(report.results)).toEqual({
      'a@x.test': 'delivered',
      'gone@x.test': 'failed',
      'b@x.test': 'delivered',
    });
    expect(fx.notices).toHaveLength(1);
    expect(fx.notices[0]?.error.message).toMatch(/gone@x\.test \(550/);
    expect(fx.notices[0]?.error.message).toMatch(/p3@example\.com/);
    const id = entryIdFor('red', listPost('p3', []).key);
    expect(fx.refusals).toEqual([
      expect.objectContaining({
        entryId: id,
        list: 'red',
        key: listPost('p3', []).key,
        recipient: 'gone@x.test',
        code: 550,
        reason: 'refused',
      }),
    ]);
    const dead = JSON.parse(await readFile(join(fx.spool, 'dead', id, 'envelope.json'), 'utf8'));
    expect(
      dead.recipients.find((r: { address: string }) => r.address === 'gone@x.test').state,
    ).toBe('failed');
    expect(await readFile(join(fx.spool, 'dead', id, 'message.eml'), 'latin1')).toMatch(
      /Message-ID: <p3@/,
    );
    // Not retried.
    fx.clock.t += 10 * 3_600_000;
    expect((await fx.distributor.queue.run({ force: true })).processed).toBe(0);
  });

  it('disconnect mid-DATA: delivered exactly once after a retry', async () => {
    fx = await queueFixture();
    fx.server.addRule({ stage: 'data', action: 'disconnect', times: 1 });
    const report = await fx.distributor.distribute(listPost('p4', ['a@x.test', 'b@x.test']));
    expect(statuses(report.results)).toEqual({ 'a@x.test': 'queued', 'b@x.test': 'queued' });
    await new Promise((r) => setTimeout(r, 200));
    expect(fx.server.accepted).toHaveLength(0);
    fx.clock.t += 61_000;
    await fx.distributor.queue.run();
    expect(fx.server.count('a@x.test', 'p4@example.com')).toBe(1);
    expect(fx.server.count('b@x.test', 'p4@example.com')).toBe(1);
  });

  it('server down at post time: queued, delivered when it returns', async () => {
    fx = await queueFixture();
    await fx.server.stop();
    const report = await fx.distributor.distribute(listPost('p5', ['a@x.test']));
    expect(report.results[0]?.status).toBe('queued');
    // The caller is told why (play() reports it to the reactors).
    expect(report.results[0]?.response ?? String(report.results[0]?.code)).toMatch(
      /ECONNREFUSED|connect|refused|closed/i,
    );
    fx.clock.t += 61_000;
    expect((await fx.distributor.queue.run()).deferred).toBe(1);
    await fx.server.start();
    fx.clock.t += 61_000;
    expect((await fx.distributor.queue.run()).processed).toBe(0); // backoff doubled: 120 s
    fx.clock.t += 61_000;
    expect((await fx.distributor.queue.run()).delivered).toBe(1);
    expect(fx.server.count('a@x.test')).toBe(1);
  });

  it('distributing the same post again sends nothing twice', async () => {
    fx = await queueFixture();
    fx.server.addRule({ stage: 'rcpt', recipient: 'soft@x.test', reply: { code: 451 }, times: 1 });
    const post = listPost('p6', ['a@x.test', 'soft@x.test']);
    await fx.distributor.distribute(post);
    const again = await fx.distributor.distribute(post);
    expect(statuses(again.results)).toEqual({ 'a@x.test': 'delivered', 'soft@x.test': 'queued' });
    fx.clock.t += 61_000;
    await fx.distributor.queue.run();
    const third = await fx.distributor.distribute(post);
    expect(statuses(third.results)).toEqual({
      'a@x.test': 'delivered',
      'soft@x.test': 'delivered',
    });
    expect(fx.server.count('a@x.test')).toBe(1);
    expect(fx.server.count('soft@x.test')).toBe(1);
  });

  it('a recipient in the sent-log is not sent again (crash between the 250 and the envelope update)', async () => {
    fx = await queueFixture({ deliver_now: false });
    const post = listPost('p7', ['a@x.test', 'b@x.test']);
    await fx.distributor.distribute(post);
    const id = entryIdFor('red', post.key);
    await appendSentLog(join(fx.spool, 'sent', `${id}.log`), [
      { recipient: 'a@x.test', status: 'delivered', distributor: 'smtp', code: 250 },
    ]);
    await fx.distributor.queue.run();
    expect(fx.server.count('a@x.test')).toBe(0);
    expect(fx.server.count('b@x.test')).toBe(1);
  });

  it('a 5xx in the sent-log without its dead letter (crash) gets the dead letter and notice on recovery', async () => {
    fx = await queueFixture({ deliver_now: false });
    const post = listPost('p12', ['a@x.test', 'gone@x.test']);
    await fx.distributor.distribute(post);
    const id = entryIdFor('red', post.key);
    await appendSentLog(join(fx.spool, 'sent', `${id}.log`), [
      {
        recipient: 'gone@x.test',
        status: 'failed',
        distributor: 'smtp',
        code: 550,
        response: '550 no such user',
      },
    ]);
    await fx.distributor.queue.run();
    expect(fx.server.count('gone@x.test')).toBe(0);
    expect(fx.server.count('a@x.test')).toBe(1);
    expect(fx.notices).toHaveLength(1);
    expect(fx.refusals.map((r) => [r.recipient, r.code])).toEqual([['gone@x.test', 550]]);
    expect(await readdir(join(fx.spool, 'dead'))).toEqual([id]);
  });

  it('expires after the configured age into the dead-letter folder with a notice', async () => {
    fx = await queueFixture({ expire_after_seconds: 600 });
    fx.server.addRule({ stage: 'rcpt', reply: { code: 451, message: 'greylisted' } });
    const post = listPost('p8', ['a@x.test']);
    await fx.distributor.distribute(post);
    for (let i = 0; i < 5; i++) {
      fx.clock.t += 300_000;
      await fx.distributor.queue.run();
    }
    expect(fx.notices).toHaveLength(1);
    expect(fx.notices[0]?.error.message).toMatch(/expired/);
    expect(fx.notices[0]?.error.message).toMatch(/greylisted/);
    expect(fx.refusals.map((r) => [r.recipient, r.reason])).toEqual([['a@x.test', 'expired']]);
    const id = entryIdFor('red', post.key);
    expect(await readdir(join(fx.spool, 'dead'))).toEqual([id]);
    expect(await readdir(join(fx.spool, 'new'))).toEqual([]);
    expect(fx.server.count('a@x.test')).toBe(0);
  });

  it('list, retry and drop', async () => {
    fx = await queueFixture();
    fx.server.addRule({ stage: 'rcpt', recipient: 'soft@x.test', reply: { code: 451 } });
    const post = listPost('p9', ['a@x.test', 'soft@x.test']);
    await fx.distributor.distribute(post);
    const id = entryIdFor('red', post.key);
    const [entry] = await fx.distributor.queue.list();
    expect(entry).toMatchObject({ id, where: 'new' });
    expect(entry?.envelope.last_error).toMatch(/451/);
    expect(await fx.distributor.queue.drop(id)).toBe('dropped');
    expect((await fx.distributor.queue.list()).map((e) => e.where)).toEqual(['dead']);
    // A dropped post is not sent again when re-distributed.
    const again = await fx.distributor.distribute(post);
    expect(statuses(again.results)).toEqual({ 'a@x.test': 'delivered', 'soft@x.test': 'failed' });
    expect(await fx.distributor.queue.drop(id)).toBe('removed-dead-letter');
    expect(await fx.distributor.queue.list()).toEqual([]);
  });

  it('an unreadable entry is reported and skipped; the others are delivered', async () => {
    fx = await queueFixture({ deliver_now: false });
    const bad = listPost('p10', ['a@x.test']);
    await fx.distributor.distribute(bad);
    await fx.distributor.distribute(listPost('p11', ['b@x.test']));
    await writeFile(join(fx.spool, 'new', entryIdFor('red', bad.key), 'envelope.json'), '{"torn');
    const summary = await fx.distributor.queue.run();
    expect(summary.delivered).toBe(1);
    expect(summary.errors).toEqual([expect.stringContaining(entryIdFor('red', bad.key))]);
    expect(fx.server.count('b@x.test')).toBe(1);
    const listed = await fx.distributor.queue.list();
    expect(listed.map((e) => e.envelope.last_error)).toEqual([
      expect.stringMatching(/unreadable envelope/),
    ]);
  });
});
