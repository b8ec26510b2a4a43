/** API: members — search, one member (with their bounce record), add, change, remove, bulk. */
import { createRoute, z } from '@hono/zod-openapi';
import { normalizeAddress } from '../../mail/address.ts';
import { applyMemberDiff, diffMembers, parseMembersCsv } from '../../members/bulk.ts';
import { memberSnapshot } from '../../members/snapshot.ts';
import { type Member, tidyMember } from '../../members/store.ts';
import type { WebDeps } from '../env.ts';
import { bounceInfo, resetBounceScore, searchMembers } from '../member-actions.ts';
import { body, ERRORS, json } from './common.ts';
import type { ApiApp } from './index.ts';
import {
  BulkBody,
  BulkResult,
  ListParam,
  MemberBody,
  MemberDetail,
  MemberPage,
  MemberParam,
  MemberPatchBody,
  MemberQuery,
} from './schemas.ts';

export function registerMembers(app: ApiApp, deps: WebDeps): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/lists/{list}/members',
      summary: 'Members, searched by address or name, a page at a time',
      request: { params: ListParam, query: MemberQuery },
      responses: { 200: json(MemberPage, 'A page of members'), ...ERRORS },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const offset = q.offset ?? 0;
      const found = await searchMembers(c.get('list'), q.q ?? '', offset, q.limit ?? 100);
      return c.json({ ...found, offset }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/lists/{list}/members',
      summary: 'Adds a member (no confirmation: the token holder is an owner)',
      request: { params: ListParam, ...body(MemberBody) },
      responses: {
        201: json(MemberBody, 'Added'),
        200: json(MemberBody, 'Already a member (unchanged)'),
        ...ERRORS,
      },
    }),
    async (c) => {
      const member = c.req.valid('json') as Member;
      if (!normalizeAddress(member.address).includes('@'))
        return c.json({ error: `'${member.address}' is not a mail address` }, 400);
      const store = c.get('list').store;
      const result = await store.add(tidyMember(member));
      deps.log(`api ${c.get('token').id} added ${member.address} to ${c.get('list').name}`);
      const now = (await store.get(member.address)) ?? member;
      return result === 'added' ? c.json(now, 201) : c.json(now, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/lists/{list}/members/{address}',
      summary: 'One member, with their bounce record',
      request: { params: MemberParam },
      responses: { 200: json(MemberDetail, 'The member'), ...ERRORS },
    }),
    async (c) => {
      const { address } = c.req.valid('param');
      const list = c.get('list');
      const member = await list.store.get(address);
      if (!member) return c.json({ error: `${address} is not a member` }, 404);
      const b = await bounceInfo(c.get('state').runtime.bounces, list, address);
      const bounce = b
        ? {
            address: member.address,
            score: b.score,
            threshold: b.threshold,
            count: b.count,
            last_bounce: b.updated ?? null,
            last_diagnostic: b.lastDiagnostic ?? null,
            disabled_at: b.disabledAt ?? null,
          }
        : null;
      return c.json({ ...member, bounce }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/lists/{list}/members/{address}',
      summary: "Changes a member's name or options (nomail=false re-enables after bounces)",
      request: { params: MemberParam, ...body(MemberPatchBody) },
      responses: { 200: json(MemberBody, 'The member as it is now'), ...ERRORS },
    }),
    async (c) => {
      const { address } = c.req.valid('param');
      const patch = c.req.valid('json');
      const store = c.get('list').store;
      const before = await store.get(address);
      if (!before) return c.json({ error: `${address} is not a member` }, 404);
      const after = await store.update(address, {
        ...patch,
        ...(patch.nomail && !before.nomail ? { nomail_reason: 'admin' as const } : {}),
      });
      if (before.nomail && patch.nomail === false)
        await resetBounceScore(c.get('state').runtime.bounces, c.get('list'), address);
      return c.json(after!, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/lists/{list}/members/{address}',
      summary: 'Removes a member',
      request: { params: MemberParam },
      responses: { 204: { description: 'Removed' }, ...ERRORS },
    }),
    async (c) => {
      const { address } = c.req.valid('param');
      if (!(await c.get('list').store.remove(address)))
        return c.json({ error: `${address} is not a member` }, 404);
      deps.log(`api ${c.get('token').id} removed ${address} from ${c.get('list').name}`);
      return c.body(null, 204);
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/lists/{list}/members/bulk',
      summary:
        'Adds members in bulk, or makes the list exactly a set of members; dry_run shows the difference',
      request: { params: ListParam, ...body(BulkBody) },
      responses: { 200: json(BulkResult, 'The difference, and what was applied'), ...ERRORS },
    }),
    async (c) => {
      const input = c.req.valid('json');
      const list = c.get('list');
      const parsed =
        input.csv !== undefined
          ? parseMembersCsv(input.csv)
          : { members: (input.members ?? []).map((m) => tidyMember(m as Member)), problems: [] };
      const diff = diffMembers(
        (await memberSnapshot(list.store)).members,
        parsed.members,
        input.mode,
      );
      const applied = input.dry_run ? null : await applyMemberDiff(list.store, diff);
      if (applied)
        deps.log(
          `api ${c.get('token').id} bulk ${input.mode} on ${list.name}: ${applied.added} added, ${applied.removed} removed, ${applied.changed} changed`,
        );
      return c.json(
        {
          dry_run: Boolean(input.dry_run),
          add: diff.add.map((m) => m.address),
          remove: diff.remove.map((m) => m.address),
          change: diff.change.map((x) => x.after.address),
          unchanged: diff.unchanged,
          problems: parsed.problems,
          applied,
        },
        200,
      );
    },
  );
  void z;
}
