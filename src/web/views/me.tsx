/** A member's own page: each of their lists, with their delivery options and a way out. */
import type { FC } from 'hono/jsx';
import type { Member } from '../../members/store.ts';
import { Csrf } from './layout.tsx';

export interface MyList {
  name: string;
  displayName: string;
  address: string;
  member: Member;
}

const MINE = ['digest', 'plain', 'nomail', 'notmetoo'] as const;
const LABEL = {
  digest: 'digest (a few posts in one mail)',
  plain: 'plain-text digests',
  nomail: 'no mail for now',
  notmetoo: 'no copy of my own posts',
};

export const MyLists: FC<{ lists: MyList[]; csrf: string; others: string[] }> = (p) => (
  <>
    {p.lists.length === 0 ? <p>You are not a member of any list here.</p> : null}
    {p.lists.map((l) => (
      <section class="my-list" data-list={l.name}>
        <h2>
          {l.displayName} <span class="muted">{l.address}</span>
        </h2>
        <form method="post" action={`/me/${l.name}/options`}>
          <Csrf token={p.csrf} />
          {MINE.map((o) => (
            <label>
              <input
                type="checkbox"
                name={o}
                value="on"
                checked={Boolean(l.member[o])}
                disabled={o === 'nomail' && l.member.nomail_reason === 'admin'}
              />{' '}
              {LABEL[o]}
            </label>
          ))}
          <button type="submit">Save</button>
        </form>
        {l.member.nomail && l.member.nomail_reason === 'bounce' ? (
          <p>
            Delivery was stopped because mail to you bounced. Untick "no mail" to get mail again.
          </p>
        ) : null}
        {l.member.nomail && l.member.nomail_reason === 'admin' ? (
          <p>The list's owners stopped delivery to you; write to them to get mail again.</p>
        ) : null}
        <form method="post" action={`/me/${l.name}/unsubscribe`}>
          <Csrf token={p.csrf} />
          <button type="submit">Unsubscribe from {l.name}</button>
        </form>
      </section>
    ))}
    {p.others.length > 0 ? (
      <p>
        You also help run:{' '}
        {p.others.map((n) => (
          <a href={`/lists/${n}`}>{n} </a>
        ))}
      </p>
    ) : null}
  </>
);
