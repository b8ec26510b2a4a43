/** Bulk import: the upload form, then the difference to confirm. */
import type { FC } from 'hono/jsx';
import type { CsvProblem, MemberDiff } from '../../members/bulk.ts';
import { Csrf } from './layout.tsx';
import { flags } from './members.tsx';

export const ImportForm: FC<{ list: string; csrf: string }> = (p) => (
  <form method="post" action={`/lists/${p.list}/members/import`} enctype="multipart/form-data">
    <Csrf token={p.csrf} />
    <p>
      A CSV file with a header row naming <code>address</code> (or <code>email</code>), and
      optionally <code>name</code>, <code>digest</code>, <code>nomail</code>, <code>notmetoo</code>,{' '}
      <code>moderate</code> (yes/no). Nothing changes until you confirm the difference on the next
      page.
    </p>
    <p>
      <input type="file" name="file" accept=".csv,text/csv,text/plain" />
    </p>
    <p>
      or paste it: <textarea name="text" />
    </p>
    <p>
      <label>
        <input type="radio" name="mode" value="add" checked /> add the new members, leave the others
      </label>
      <label>
        <input type="radio" name="mode" value="sync" /> make the list exactly this file (members not
        in it are removed)
      </label>
    </p>
    <button type="submit">Show the difference</button>
  </form>
);

const SHOWN = 100;

export const DiffPreview: FC<{
  list: string;
  id: string;
  diff: MemberDiff;
  problems: CsvProblem[];
  csrf: string;
}> = (p) => (
  <>
    <p class="diff-summary">
      <strong class="diff-add">{p.diff.add.length} to add</strong>,{' '}
      <strong class="diff-remove">{p.diff.remove.length} to remove</strong>,{' '}
      <strong>{p.diff.change.length} to change</strong>, {p.diff.unchanged} unchanged.
    </p>
    {p.problems.length > 0 ? (
      <div class="error">
        {p.problems.length} lines of the file are left out:
        <ul>
          {p.problems.slice(0, SHOWN).map((x) => (
            <li>
              line {x.line}: {x.message}
            </li>
          ))}
        </ul>
      </div>
    ) : null}
    <form method="post" action={`/lists/${p.list}/members/import/apply`}>
      <Csrf token={p.csrf} />
      <input type="hidden" name="id" value={p.id} />
      <button type="submit">Apply these changes</button>{' '}
      <a href={`/lists/${p.list}/members`}>Cancel</a>
    </form>
    {p.diff.add.length > 0 ? (
      <>
        <h2>To add</h2>
        <ul class="diff-add">
          {p.diff.add.slice(0, SHOWN).map((m) => (
            <li>
              {m.address} {m.name ? `(${m.name})` : ''} {flags(m)}
            </li>
          ))}
        </ul>
        {p.diff.add.length > SHOWN ? <p>… and {p.diff.add.length - SHOWN} more.</p> : null}
      </>
    ) : null}
    {p.diff.remove.length > 0 ? (
      <>
        <h2>To remove</h2>
        <ul class="diff-remove">
          {p.diff.remove.slice(0, SHOWN).map((m) => (
            <li>{m.address}</li>
          ))}
        </ul>
        {p.diff.remove.length > SHOWN ? <p>… and {p.diff.remove.length - SHOWN} more.</p> : null}
      </>
    ) : null}
    {p.diff.change.length > 0 ? (
      <>
        <h2>To change</h2>
        <ul>
          {p.diff.change.slice(0, SHOWN).map((x) => (
            <li>
              {x.before.address}: {flags(x.before) || 'no options'} →{' '}
              {flags(x.after) || 'no options'}
            </li>
          ))}
        </ul>
      </>
    ) : null}
  </>
);
