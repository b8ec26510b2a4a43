/** buildListServices wires each list's settings into its handlers. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildListServices } from '../../src/config/services.ts';
import { createListMail } from '../../src/mail/list-mail.ts';
import createMemoryMemberStore from '../../src/members/memory.ts';
import createManyLists from '../../src/processors/many-lists.ts';
import createSingleList from '../../src/processors/single-list.ts';
import type { ListMail } from '../../src/types.ts';

describe('buildListServices', () => {
  it('gives lists with a member store request and bounce handlers, with their settings', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'malist-services-'));
    const store = createMemoryMemberStore();
    const red = createSingleList({
      name: 'red',
      address: 'red@list.example',
      members: [],
      member_store: store,
      subscribe_policy: 'open',
      templates: { welcome_subject: 'Hi from {list_name}' },
      pipeline: ['envelope'],
    });
    const blue = createSingleList({
      name: 'blue',
      address: 'blue@list.example',
      members: [],
      pipeline: ['envelope'],
    });
    const services = buildListServices({
      lists: [red.list, blue.list],
      stateDir,
      secret: Buffer.alloc(32, 5),
    });
    expect(Object.keys(services.handlers)).toEqual(['red']);
    const router = createManyLists({ lists: [red, blue], handlers: services.handlers });
    const out = (await router.process(
      createListMail(
        Buffer.from('From: z@example.com\nTo: red-join@list.example\nSubject: x\n\n'),
        { fetcher: 't', id: '1' },
      ),
    )) as ListMail[];
    expect(out[0]!.header.get('Subject')).toBe('Hi from red');
    expect(await store.list()).toEqual([{ address: 'z@example.com' }]);
  });
});
