/** A list's members: search, one page of them, the add form; one member in full. */
import type { FC } from 'hono/jsx';
import type { Member } from '../../members/store.ts';
import { Csrf } from './layout.tsx';

const OPTIONS = ['digest', 'plain', 'nomail', 'notmetoo', 'moderate'] as const;

export function flags(m: Member): string {
  const on = OPTIONS.filter((o) => m[o]).map((o) =>
    o === 'nomail' && m.nomail_reason ? `nomail (${m.nomail_reason})` : o,
  );
  return on.join(', ');
}

export const memberHref = (list: string, address: string) =>
  `/lists/${list}/members/${encodeURIComponent(address)}`;

export const MembersPage: FC<{
  list: string;
  q: string;
  total: number;
  matched: number;
  page: number;
  pages: number;
  members: Member[];
  csrf: string;
}> = (p) => (
  <>
    <form method="get" action={`/lists/${p.list}/members`}>
      <label>
        Search <input name="q" value={p.q} placeholder="address or name" />
      </label>
      <button type="submit">Search</button>{' '}
      <a href={`/lists/${p.list}/members/import`}>Import from a CSV file</a>
    </form>
    <p class="muted">
      {p.matched} of {p.total} members; page {p.page} of {p.pages}.
    </p>
    <table>
      <thead>
        <tr>
          <th>Address</th>
          <th>Name</th>
          <th>Options</th>
        </tr>
      </thead>
      <tbody>
        {p.members.map((m) => (
          <tr>
            <td>
              <a href={memberHref(p.list, m.address)}>{m.address}</a>
            </td>
            <td>{m.name ?? ''}</td>
            <td>{flags(m)}</td>
          </tr>
        ))}
      </tbody>
    </table>
    <p>
      {p.page > 1 ? (
        <a href={`/lists/${p.list}/members?q=${encodeURIComponent(p.q)}&page=${p.page - 1}`}>
          previous
        </a>
      ) : null}{' '}
      {p.page < p.pages ? (
        <a href={`/lists/${p.list}/members?q=${encodeURIComponent(p.q)}&page=${p.page + 1}`}>
          next
        </a>
      ) : null}
    </p>
    <h2>Add a member</h2>
    <form method="post" action={`/lists/${p.list}/members/add`}>
      <Csrf token={p.csrf} />
      <label>
        Address <input type="email" name="address" required />
      </label>
      <label>
        Name <input name="name" />
      </label>
      <label>
        <input type="checkbox" name="digest" value="on" /> digest
      </label>
      <button type="submit">Add</button>
    </form>
  </>
);

export interface BounceInfo {
  score: number;
  threshold: number;
  count: number;
  lastDiagnostic?: string;
  updated?: string;
  disabledAt?: string;
  /** The last bounces counted, oldest first. */
  history: Array<{
    at: string;
    source: string;
    class: string;
    diagnostic: string;
    probe?: boolean;
  }>;
}

export const OptionsForm: FC<{ action: string; member: Member; csrf: string; submit: string }> = (
  p,
) => (
  <form method="post" action={p.action}>
    <Csrf token={p.csrf} />
    <input type="hidden" name="options" value="1" />
    {OPTIONS.map((o) => (
      <label>
        <input type="checkbox" name={o} value="on" checked={Boolean(p.member[o])} /> {o}
      </label>
    ))}
    <button type="submit">{p.submit}</button>
  </form>
);

export const MemberPage: FC<{
  list: string;
  member: Member;
  bounce?: BounceInfo;
  csrf: string;
}> = (p) => {
  const href = memberHref(p.list, p.member.address);
  return (
    <>
      <p>
        {p.member.name ? `${p.member.name} — ` : ''}
        {p.member.address}
      </p>
      <h2>Options</h2>
      <OptionsForm
        action={`${href}/options`}
        member={p.member}
        csrf={p.csrf}
        submit="Save options"
      />
      {p.member.nomail ? (
        <p>
          Gets no mail
          {p.member.nomail_reason
            ? ` (set by ${p.member.nomail_reason === 'user' ? 'the member' : p.member.nomail_reason === 'bounce' ? 'bounces' : 'an owner'})`
            : ''}
          .{' '}
          <form method="post" action={`${href}/reenable`} class="inline">
            <Csrf token={p.csrf} />
            <button type="submit">Re-enable delivery</button>
          </form>
        </p>
      ) : null}
      <h2>Bounces</h2>
      {p.bounce ? (
        <table>
          <tbody>
            <tr>
              <th>Score</th>
              <td>
                {p.bounce.score.toFixed(2)} (nomail at {p.bounce.threshold})
              </td>
            </tr>
            <tr>
              <th>Bounces counted</th>
              <td>{p.bounce.count}</td>
            </tr>
            <tr>
              <th>Last bounce</th>
              <td>{p.bounce.updated ?? ''}</td>
            </tr>
            <tr>
              <th>Last diagnostic</th>
              <td>{p.bounce.lastDiagnostic ?? ''}</td>
            </tr>
            {p.bounce.disabledAt ? (
              <tr>
                <th>Disabled by bounces</th>
                <td>{p.bounce.disabledAt}</td>
              </tr>
            ) : null}
          </tbody>
        </table>
      ) : (
        <p>No bounces recorded.</p>
      )}
      {p.bounce && p.bounce.history.length > 0 ? (
        <table class="bounce-history">
          <caption>The last bounces counted</caption>
          <thead>
            <tr>
              <th>When</th>
              <th>Kind</th>
              <th>Proven by</th>
              <th>Diagnostic</th>
            </tr>
          </thead>
          <tbody>
            {p.bounce.history.map((h) => (
              <tr>
                <td>{h.at}</td>
                <td>
                  {h.class}
                  {h.probe ? ' (probe)' : ''}
                </td>
                <td>{h.source}</td>
                <td>{h.diagnostic}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <h2>Remove</h2>
      <form method="post" action={`${href}/remove`}>
        <Csrf token={p.csrf} />
        <button type="submit">
          Remove {p.member.address} from {p.list}
        </button>
      </form>
    </>
  );
};
