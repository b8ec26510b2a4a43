/** The lists at a glance, and one list's front page. */
import type { FC } from 'hono/jsx';

export interface ListRow {
  name: string;
  address: string;
  displayName: string;
  members: number;
  postsWeek: number;
  held: number;
  nomailBounce: number;
  queued: number;
  roles: string;
}

export const ListsTable: FC<{ rows: ListRow[] }> = ({ rows }) =>
  rows.length === 0 ? (
    <p>You are not an owner or moderator of any list here.</p>
  ) : (
    <table>
      <thead>
        <tr>
          <th>List</th>
          <th>Address</th>
          <th class="num">Members</th>
          <th class="num">Posts this week</th>
          <th class="num">Held</th>
          <th class="num">Disabled by bounces</th>
          <th class="num">In the queue</th>
          <th>You are</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr>
            <td>
              <a href={`/lists/${r.name}`}>{r.name}</a> <span class="muted">{r.displayName}</span>
            </td>
            <td>{r.address}</td>
            <td class="num">{r.members}</td>
            <td class="num">{r.postsWeek}</td>
            <td class="num">
              <a href={`/lists/${r.name}/held`}>{r.held}</a>
            </td>
            <td class="num">{r.nomailBounce}</td>
            <td class="num">{r.queued}</td>
            <td>{r.roles}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );

export const ListFront: FC<{ row: ListRow; areas: string[] }> = ({ row, areas }) => (
  <>
    <p>
      {row.address} — {row.members} members, {row.postsWeek} posts this week, {row.held} held,{' '}
      {row.nomailBounce} disabled by bounces, {row.queued} in the queue.
    </p>
    <ul>
      {areas.map((a) => (
        <li>
          <a href={`/lists/${row.name}/${a}`}>{a}</a>
        </li>
      ))}
    </ul>
  </>
);
