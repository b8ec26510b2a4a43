/** The held queue of a list: the table with bulk decisions, and one post in full. */
import type { FC } from 'hono/jsx';
import type { MessageView } from '../message-view.ts';
import { Csrf } from './layout.tsx';

export interface HeldRow {
  id: string;
  age: string;
  from: string;
  subject: string;
  reason: string;
}

const Decide: FC<{ reasonField?: boolean }> = ({ reasonField }) => (
  <p>
    {reasonField !== false ? (
      <label>
        Reason (for a rejection) <input name="reason" maxlength={500} size={40} />
      </label>
    ) : null}
    <button type="submit" name="action" value="approve">
      Approve
    </button>{' '}
    <button type="submit" name="action" value="reject">
      Reject
    </button>{' '}
    <button type="submit" name="action" value="discard">
      Discard
    </button>
  </p>
);

export const HeldTable: FC<{ list: string; rows: HeldRow[]; csrf: string }> = (p) =>
  p.rows.length === 0 ? (
    <p>Nothing is held.</p>
  ) : (
    <form method="post" action={`/lists/${p.list}/held/decide`}>
      <Csrf token={p.csrf} />
      <table>
        <thead>
          <tr>
            <th>
              <span class="muted">pick</span>
            </th>
            <th>Held for</th>
            <th>From</th>
            <th>Subject</th>
            <th>Why</th>
          </tr>
        </thead>
        <tbody>
          {p.rows.map((r) => (
            <tr>
              <td>
                <input type="checkbox" name="id" value={r.id} aria-label={`pick ${r.subject}`} />
              </td>
              <td>{r.age}</td>
              <td>{r.from}</td>
              <td>
                <a href={`/lists/${p.list}/held/${r.id}`}>{r.subject || '(no subject)'}</a>
              </td>
              <td>{r.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Decide />
    </form>
  );

export const HeldPost: FC<{
  list: string;
  id: string;
  view: MessageView;
  csrf: string;
  reason: string;
}> = (p) => (
  <>
    <table>
      <tbody>
        <tr>
          <th>Held because</th>
          <td>{p.reason}</td>
        </tr>
        <tr>
          <th>From</th>
          <td>{p.view.from}</td>
        </tr>
        <tr>
          <th>To</th>
          <td>{p.view.to}</td>
        </tr>
        {p.view.cc ? (
          <tr>
            <th>Cc</th>
            <td>{p.view.cc}</td>
          </tr>
        ) : null}
        <tr>
          <th>Subject</th>
          <td>{p.view.subject}</td>
        </tr>
        <tr>
          <th>Date</th>
          <td>{p.view.date}</td>
        </tr>
        <tr>
          <th>Message-ID</th>
          <td>{p.view.messageId}</td>
        </tr>
      </tbody>
    </table>
    <form method="post" action={`/lists/${p.list}/held/decide`}>
      <Csrf token={p.csrf} />
      <input type="hidden" name="id" value={p.id} />
      <Decide />
    </form>
    <h2>Text</h2>
    <pre class="post-text">{p.view.text}</pre>
    {p.view.truncated ? <p class="muted">(cut here: the text goes on)</p> : null}
    <h2>Attachments</h2>
    {p.view.attachments.length === 0 ? (
      <p>None.</p>
    ) : (
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Type</th>
            <th class="num">Bytes</th>
          </tr>
        </thead>
        <tbody>
          {p.view.attachments.map((a) => (
            <tr>
              <td>{a.filename}</td>
              <td>{a.contentType}</td>
              <td class="num">{a.size}</td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
    <details>
      <summary>All header fields</summary>
      <table>
        <tbody>
          {p.view.headerLines.map((h) => (
            <tr>
              <th>{h.name}</th>
              <td>{h.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  </>
);

export const Outcomes: FC<{ lines: string[] }> = ({ lines }) => (
  <ul>
    {lines.map((l) => (
      <li>{l}</li>
    ))}
  </ul>
);
