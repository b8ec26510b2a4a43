/** API: the lists, a list's settings (read, change), its bounces and its statistics. */
import { readFile } from 'node:fs/promises';
import { createRoute, z } from '@hono/zod-openapi';
import { editableValues, editListSettings, type ListSettingsEdit } from '../../config/list-edit.ts';
import { formatProblem } from '../../config/problem.ts';
import { memberSnapshot } from '../../members/snapshot.ts';
import { heldStore } from '../../moderation/held.ts';
import type { WebDeps } from '../env.ts';
import { bounceInfo } from '../member-actions.ts';
import type { SiteState, WebList } from '../site.ts';
import { listStats } from '../stats-data.ts';
import { body, ERRORS, json } from './common.ts';
import { type ApiApp, allowed } from './index.ts';
import {
  BounceBody,
  ListDetail,
  ListParam,
  ListSettingsBody,
  ListSummary,
  StatsBody,
} from './schemas.ts';

async function summary(state: SiteState, list: WebList) {
  const held = await heldStore(state.runtime.moderation, list.name).list();
  const entries = (await Promise.all(state.queues.map((q) => q.list()))).flat();
  return {
    name: list.name,
    address: list.settings.address,
    display_name: list.settings.display_name ?? null,
    members: (await memberSnapshot(list.store)).members.length,
    held: held.length,
    queued: entries.filter((e) => e.envelope.list === list.name && e.where !== 'dead').length,
  };
}

async function detail(state: SiteState, list: WebList) {
  return {
    ...(await summary(state, list)),
    settings: editableValues(await readFile(list.file, 'utf8')) as z.infer<typeof ListSettingsBody>,
    owners: list.settings.owners ?? [],
  };
}

export function registerLists(app: ApiApp, deps: WebDeps): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/lists',
      summary: 'The lists this token may read',
      responses: { 200: json(z.object({ lists: z.array(ListSummary) }), 'The lists'), ...ERRORS },
    }),
    async (c) => {
      const state = c.get('state');
      const mine = state.lists.filter((l) => allowed(c.get('token'), l.name, false));
      return c.json({ lists: await Promise.all(mine.map((l) => summary(state, l))) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/lists/{list}',
      summary: 'One list: counts and the settings the API may change',
      request: { params: ListParam },
      responses: { 200: json(ListDetail, 'The list'), ...ERRORS },
    }),
    async (c) => c.json(await detail(c.get('state'), c.get('list')), 200),
  );
  app.openapi(
    createRoute({
      method: 'patch',
      path: '/lists/{list}/settings',
      summary:
        "Changes settings, written into the list's YAML (comments kept, checked like malist check)",
      request: { params: ListParam, ...body(ListSettingsBody) },
      responses: { 200: json(ListDetail, 'The list as it is now'), ...ERRORS },
    }),
    async (c) => {
      const edit = c.req.valid('json') as ListSettingsEdit;
      const list = c.get('list');
      const result = await editListSettings(c.get('state').config, list.file, edit);
      if (!result.ok)
        return c.json({ error: 'not saved', problems: result.problems.map(formatProblem) }, 400);
      deps.log(`api ${c.get('token').id} changed the settings of ${list.name}`);
      await deps.site.reload();
      const state = deps.site.current();
      return c.json(await detail(state, state.list(list.name) ?? list), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/lists/{list}/bounces',
      summary: 'Members with a bounce record: score, count, last diagnostic',
      request: { params: ListParam },
      responses: {
        200: json(z.object({ bounces: z.array(BounceBody) }), 'Bounce records'),
        ...ERRORS,
      },
    }),
    async (c) => {
      const list = c.get('list');
      const storage = c.get('state').runtime.bounces;
      const records = await storage.records(list.name).all();
      const bounces = [];
      for (const address of Object.keys(records)) {
        const info = (await bounceInfo(storage, list, address))!;
        bounces.push({
          address,
          score: info.score,
          threshold: info.threshold,
          count: info.count,
          last_bounce: info.updated ?? null,
          last_diagnostic: info.lastDiagnostic ?? null,
          disabled_at: info.disabledAt ?? null,
        });
      }
      return c.json({ bounces }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/lists/{list}/stats',
      summary: 'Per day for 30 days, and held, bounce and queue distributions',
      request: { params: ListParam },
      responses: { 200: json(StatsBody, 'The figures'), ...ERRORS },
    }),
    async (c) => {
      const s = await listStats(c.get('state'), c.get('list'));
      return c.json(
        {
          days: s.days,
          held_age: s.heldAge,
          bounce_scores: s.bounceScores,
          queue_age: s.queueAge,
          dead_letters: s.deadLetters,
          delivery_source: s.deliverySource,
        },
        200,
      );
    },
  );
}
