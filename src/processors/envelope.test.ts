import { describe, expect, it } from 'vitest';
import { createListMail } from '../mail/list-mail.ts';
import createMemoryMemberStore from '../members/memory.ts';
import createEnvelope from './envelope.ts';

const post = () =>
  createListMail(Buffer.from('From: Carol <Carol@Example.net>\nSubject: hi\n\nbody\n'), {
    fetcher: 't',
    id: '1',
  });

describe('envelope with a member store', () => {
  it('skips nomail, digest-only and the notmetoo poster; reads the store at each post', async () => {
    const store = createMemoryMemberStore({
      members: [
        { address: 'alice@example.com' },
        { address: 'bob@example.org', nomail: true },
        { address: 'dave@example.com', digest: true },
        { address: 'carol@example.net', notmetoo: true },
        { address: 'erin@example.com', notmetoo: true },
      ],
    });
    const unit = createEnvelope({
      name: 'red',
      address: 'red@l.example',
      members: [],
      member_store: store,
    });
    const mail = await unit.process(post());
    expect((mail as { ml_send_to: string[] }).ml_send_to).toEqual([
      'alice@example.com',
      'erin@example.com',
    ]);
    await store.add({ address: 'new@example.com' });
    const next = await unit.process(post());
    expect((next as { ml_send_to: string[] }).ml_send_to).toContain('new@example.com');
  });

  it('without a store, uses the static members', async () => {
    const unit = createEnvelope({
      name: 'red',
      address: 'red@l.example',
      members: ['a@example.com'],
    });
    expect(((await unit.process(post())) as { ml_send_to: string[] }).ml_send_to).toEqual([
      'a@example.com',
    ]);
  });
});
