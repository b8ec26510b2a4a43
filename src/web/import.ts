/**
 * `/lists/:list/members/import` (owners, admins): a CSV upload (or pasted text) is read by
 * the members bulk module, its difference to the list shown first and kept on disk
 * (STATE/web/imports/ID.json, 0600) for the confirmation, which computes the difference
 * again — the list may have changed meanwhile — and applies it through the member store.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Hono } from 'hono';
import { applyMemberDiff, diffMembers, parseMembersCsv } from '../members/bulk.ts';
import { memberSnapshot } from '../members/snapshot.ts';
import type { Member } from '../members/store.ts';
import { writeFileDurable } from '../state/durable.ts';
import { actor, field, listArea, page, type WebDeps, type WebEnv } from './env.ts';
import { webDir } from './site.ts';
import { DiffPreview, ImportForm } from './views/import.tsx';

interface Preview {
  list: string;
  by: string;
  mode: 'add' | 'sync';
  created: number;
  members: Member[];
}

const KEEP_MS = 3_600_000;

export function importRoutes(deps: WebDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const dir = join(webDir(deps.site), 'imports');
  const path = (id: string) => join(dir, `${id.replace(/[^a-f0-9]/g, '')}.json`);
  app.use('/lists/:list/members/import', listArea('members'));
  app.use('/lists/:list/members/import/*', listArea('members'));
  app.get('/lists/:list/members/import', (c) =>
    page(
      c,
      `Import members into ${c.get('list').name}`,
      ImportForm({ list: c.get('list').name, csrf: c.get('csrf') }),
      {
        nav: 'members',
      },
    ),
  );
  app.post('/lists/:list/members/import', async (c) => {
    const list = c.get('list');
    const form = await c.req.parseBody({ all: true });
    const file = form.file instanceof File ? form.file : undefined;
    const text = file && file.size > 0 ? await file.text() : field(form, 'text');
    const mode = field(form, 'mode') === 'sync' ? 'sync' : 'add';
    const parsed = parseMembersCsv(text);
    if (parsed.members.length === 0)
      return page(
        c,
        `Import members into ${list.name}`,
        ImportForm({ list: list.name, csrf: c.get('csrf') }),
        {
          nav: 'members',
          error: `No members in that file.${
            parsed.problems.length
              ? ` ${parsed.problems
                  .slice(0, 5)
                  .map((p) => `line ${p.line}: ${p.message}`)
                  .join('; ')}`
              : ''
          }`,
          status: 400,
        },
      );
    const id = randomBytes(16).toString('hex');
    const preview: Preview = {
      list: list.name,
      by: actor(c),
      mode,
      created: Date.now(),
      members: parsed.members,
    };
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileDurable(path(id), JSON.stringify(preview), { mode: 0o600 });
    const diff = diffMembers((await memberSnapshot(list.store)).members, parsed.members, mode);
    return page(
      c,
      `Import into ${list.name}: the difference`,
      DiffPreview({ list: list.name, id, diff, problems: parsed.problems, csrf: c.get('csrf') }),
      { nav: 'members' },
    );
  });
  app.post('/lists/:list/members/import/apply', async (c) => {
    const list = c.get('list');
    const form = await c.req.parseBody({ all: true });
    const id = field(form, 'id');
    let preview: Preview | undefined;
    try {
      preview = JSON.parse(await readFile(path(id), 'utf8')) as Preview;
    } catch {
      preview = undefined;
    }
    if (
      !preview ||
      preview.list !== list.name ||
      preview.by !== actor(c) ||
      Date.now() - preview.created > KEEP_MS
    )
      return page(
        c,
        'Import expired',
        'This preview is gone or not yours. Upload the file again.',
        {
          nav: 'members',
          status: 400,
        },
      );
    await unlink(path(id)).catch(() => {});
    const diff = diffMembers(
      (await memberSnapshot(list.store)).members,
      preview.members,
      preview.mode,
    );
    const done = await applyMemberDiff(list.store, diff);
    deps.log(
      `${actor(c)} imported into ${list.name}: ${done.added} added, ${done.removed} removed, ${done.changed} changed`,
    );
    return page(
      c,
      `Import into ${list.name}: done`,
      `${done.added} added, ${done.removed} removed, ${done.changed} changed.`,
      { nav: 'members', notice: 'The import is done.' },
    );
  });
  return app;
}
