/** A list's queue entries and dead letters, with retry and drop. */
import type { FC } from 'hono/jsx';
import type { QueueRow } from '../queue-actions.ts';
import { Csrf } from './layout.tsx';

const Verb: FC<{
  list: string;
  id: string;
  verb: 'retry' | 'drop';
  csrf: string;
  label: string;
}> = (p) => (
  <form method="post" action={`/lists/${p.list}/queue/${p.verb}`} class="inline">
    <Csrf token={p.csrf} />
    <input type="hidden" name="id" value={p.id} />
    <button type="submit">{p.label}</button>
  </form>
);

export const QueueTables: FC<{ list: string; rows: QueueRow[]; csrf: string }> = (p) => {
  const live = p.rows.filter((r) => r.state !== 'dead');
  const dead = p.rows.filter((r) => r.state === 'dead');
  return (
    <>
      <h2>In the queue</h2>
      {live.length === 0 ? (
        <p>Nothing is waiting: every post went out.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Entry</th>
              <th>State</th>
              <th>Spooled</th>
              <th class="num">Pending</th>
              <th class="num">Failed</th>
              <th>Next attempt</th>
              <th>Last error</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {live.map((r) => (
              <tr>
                <td>{r.id.slice(0, 16)}</td>
                <td>{r.state}</td>
                <td>{r.created}</td>
                <td class="num">{r.pending}</td>
                <td class="num">{r.failed}</td>
                <td>{r.nextAttempt ?? ''}</td>
                <td>{r.lastError}</td>
                <td>
                  {r.state === 'waiting' ? (
                    <>
                      <Verb list={p.list} id={r.id} verb="retry" csrf={p.csrf} label="Retry now" />{' '}
                      <Verb list={p.list} id={r.id} verb="drop" csrf={p.csrf} label="Drop" />
                    </>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Dead letters</h2>
      {dead.length === 0 ? (
        <p>None.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Entry</th>
              <th>Spooled</th>
              <th>Refused or expired</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {dead.map((r) => (
              <tr>
                <td>{r.id.slice(0, 16)}</td>
                <td>{r.created}</td>
                <td>
                  <ul>
                    {r.refused.map((x) => (
                      <li>
                        {x.address}: {x.response}
                      </li>
                    ))}
                  </ul>
                </td>
                <td>
                  <Verb list={p.list} id={r.id} verb="drop" csrf={p.csrf} label="Remove" />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
};
