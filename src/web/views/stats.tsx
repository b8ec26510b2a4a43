/**
 * The statistics of a list as tables — readable without script — each marked for
 * /static/charts.js, which draws it with Chart.js above the table.
 */
import type { FC } from 'hono/jsx';
import type { Bucket, Day, ListStats } from '../stats-data.ts';

const BucketTable: FC<{ caption: string; head: string; buckets: Bucket[] }> = (p) => (
  <table data-chart="bar">
    <caption>{p.caption}</caption>
    <thead>
      <tr>
        <th>{p.head}</th>
        <th class="num">count</th>
      </tr>
    </thead>
    <tbody>
      {p.buckets.map((b) => (
        <tr>
          <td>{b.label}</td>
          <td class="num">{b.count}</td>
        </tr>
      ))}
    </tbody>
  </table>
);

/** One row per day, one column per figure of `Day`. */
const DayTable: FC<{
  chart: 'bar' | 'stacked';
  caption: string;
  days: Day[];
  columns: Array<Exclude<keyof Day, 'day'>>;
  heads?: string[];
}> = (p) => (
  <table data-chart={p.chart}>
    <caption>{p.caption}</caption>
    <thead>
      <tr>
        <th>day</th>
        {p.columns.map((col, i) => (
          <th class="num">{p.heads?.[i] ?? col}</th>
        ))}
      </tr>
    </thead>
    <tbody>
      {p.days.map((d) => (
        <tr>
          <td>{d.day}</td>
          {p.columns.map((col) => (
            <td class="num">{d[col]}</td>
          ))}
        </tr>
      ))}
    </tbody>
  </table>
);

export const StatsPage: FC<{ stats: ListStats }> = ({ stats }) => (
  <div class="stats">
    <p class="muted">
      Deliveries per day come from {stats.deliverySource}; posts from {stats.postsSource}; the rest
      is as of now. Dead letters: {stats.deadLetters}.
    </p>
    <p class={stats.complaints.rate > 0.001 ? 'error' : 'muted'}>
      Spam complaints today: {stats.complaints.complaints} of {stats.complaints.delivered} member
      deliveries ({(stats.complaints.rate * 100).toFixed(2)}%
      {stats.complaints.rate > 0.001 ? ', above 0.1%: see malist complaints' : ''}).
    </p>
    <DayTable
      chart="stacked"
      caption="Recipients per day (30 days): delivered, deferred, refused"
      days={stats.days}
      columns={['delivered', 'deferred', 'refused']}
    />
    <DayTable
      chart="bar"
      caption="Posts per day (30 days): distributed, held"
      days={stats.days}
      columns={['posts', 'held']}
      heads={['distributed', 'held']}
    />
    <BucketTable caption="Held posts by age" head="held for" buckets={stats.heldAge} />
    <BucketTable caption="Members by bounce score" head="score" buckets={stats.bounceScores} />
    <BucketTable caption="Queue entries by age" head="waiting for" buckets={stats.queueAge} />
  </div>
);
