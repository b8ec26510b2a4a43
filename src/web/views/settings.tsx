/** The list settings an owner may change on the web. */
import type { FC } from 'hono/jsx';
import type { ListSettingsEdit } from '../../config/list-edit.ts';
import { Csrf } from './layout.tsx';

const POSTING = ['open', 'members', 'moderated', 'announce'];
const NON_MEMBER = ['hold', 'reject', 'discard', 'accept'];

export const SettingsForm: FC<{
  list: string;
  values: ListSettingsEdit;
  csrf: string;
  file: string;
}> = (p) => (
  <form method="post" action={`/lists/${p.list}/settings`}>
    <Csrf token={p.csrf} />
    <p class="muted">
      Written into {p.file}, keeping its comments; checked as <code>malist check</code> does before
      anything is saved. An empty field falls back to the default.
    </p>
    <fieldset>
      <legend>Subject prefix</legend>
      <input name="subject_prefix" value={p.values.subject_prefix ?? ''} size={30} />
    </fieldset>
    <fieldset>
      <legend>Footer</legend>
      <textarea name="footer">{p.values.footer ?? ''}</textarea>
    </fieldset>
    <fieldset>
      <legend>Who may post</legend>
      <select name="posting">
        <option value="">(default)</option>
        {POSTING.map((v) => (
          <option value={v} selected={p.values.posting === v}>
            {v}
          </option>
        ))}
      </select>{' '}
      <label>
        Posts from non-members{' '}
        <select name="non_member_action">
          <option value="">(default)</option>
          {NON_MEMBER.map((v) => (
            <option value={v} selected={p.values.non_member_action === v}>
              {v}
            </option>
          ))}
        </select>
      </label>
    </fieldset>
    <fieldset>
      <legend>Moderators (one address a line)</legend>
      <textarea name="moderators">{(p.values.moderators ?? []).join('\n')}</textarea>
    </fieldset>
    <button type="submit">Save</button>
  </form>
);
