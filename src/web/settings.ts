/**
 * `/lists/:list/settings` (owners, admins): subject prefix, footer, posting policy,
 * non-member action and moderators, written back into the list's YAML (config/list-edit.ts:
 * comments kept, the loader's own checks and messages). A saved change reloads the site,
 * so the next post and the next page use it.
 */
import { readFile } from 'node:fs/promises';
import { Hono } from 'hono';
import { editableValues, editListSettings, type ListSettingsEdit } from '../config/list-edit.ts';
import { formatProblem } from '../config/problem.ts';
import { displayPath } from '../config/source.ts';
import { actor, field, listArea, page, type WebDeps, type WebEnv } from './env.ts';
import { SettingsForm } from './views/settings.tsx';

/** The edit a settings form (or an API call) asks for. */
export function editOf(get: (name: string) => string | undefined): ListSettingsEdit {
  const edit: ListSettingsEdit = {};
  const text = (name: keyof ListSettingsEdit) => {
    const value = get(name);
    if (value !== undefined) (edit as Record<string, unknown>)[name] = value === '' ? null : value;
  };
  text('subject_prefix');
  const footer = get('footer');
  if (footer !== undefined) edit.footer = footer.replace(/\r\n/g, '\n') || null;
  text('posting');
  text('non_member_action');
  const moderators = get('moderators');
  if (moderators !== undefined) {
    const list = moderators.split(/[\s,]+/).filter(Boolean);
    edit.moderators = list.length > 0 ? list : null;
  }
  return edit;
}

export function settingsRoutes(deps: WebDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.use('/lists/:list/settings', listArea('settings'));
  app.get('/lists/:list/settings', async (c) => {
    const list = c.get('list');
    const values = editableValues(await readFile(list.file, 'utf8'));
    return page(
      c,
      `Settings of ${list.name}`,
      SettingsForm({ list: list.name, values, csrf: c.get('csrf'), file: displayPath(list.file) }),
      {
        nav: 'settings',
      },
    );
  });
  app.post('/lists/:list/settings', async (c) => {
    const list = c.get('list');
    const form = await c.req.parseBody({ all: true });
    const edit = editOf((name) => (name in form ? field(form, name) : undefined));
    const result = await editListSettings(c.get('state').config, list.file, edit);
    const render = (
      values: ListSettingsEdit,
      options: { notice?: string; error?: string; status?: number },
    ) =>
      page(
        c,
        `Settings of ${list.name}`,
        SettingsForm({
          list: list.name,
          values,
          csrf: c.get('csrf'),
          file: displayPath(list.file),
        }),
        {
          nav: 'settings',
          ...options,
        },
      );
    if (!result.ok)
      return render(
        { ...editableValues(await readFile(list.file, 'utf8')), ...edit },
        { error: `Not saved:\n${result.problems.map(formatProblem).join('\n')}`, status: 400 },
      );
    deps.log(`${actor(c)} changed the settings of ${list.name}`);
    await deps.site.reload();
    return render(editableValues(result.text), { notice: 'Saved.' });
  });
  return app;
}
