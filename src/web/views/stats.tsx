/**
 * The statistics of a list as tables — readable without script — each marked for
 * /static/charts.js, which draws it with Chart.js above the table.
 */
import type { FC } from 'hono/jsx';
import type { Bucket, ListStats } from '../stats-data.ts';

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

export const StatsPage: FC<{ stats: ListStats }> = ({ stats }) => (
  <div class="stats">
    <p class="muted">
      Deliveries per day come from {stats.deliverySource}; posts from the journal; the rest is as of
      now. Dead letters: {stats.deadLetters}.
    </p>
    <table data-chart="stacked">
      <caption>Recipients per day (30 days): delivered, deferred, refused</caption>
      <thead>
        <tr>
          <th>day</th>
          <th class="num">delivered</th>
          <th class="num">deferred</th>
          <th class="num">refused</th>
        </tr>
      </thead>
      <tbody>
        {stats.days.map((d) => (
          <tr>
            <td>{d.day}</td>
            <td class="num">{d.delivered}</td>
            <td class="num">{d.deferred}</td>
            <td class="num">{d.refused}</td>
          </tr>
        ))}
      </tbody>
    </table>
    <table data-chart="bar">
      <caption>Posts per day (30 days): distributed, held</caption>
      <thead>
        <tr>
          <th>day</th>
          <th class="num">distributed</th>
          <th class="num">held</th>
        </tr>
      </thead>
      <tbody>
        {stats.days.map((d) => (
          <tr>
            <td>{d.day}</td>
            <td class="num">{d.posts}</td>
            <td class="num">{d.held}</td>
          </tr>
        ))}
      </tbody>
    </table>
    <BucketTable caption="Held posts by age" head="held for" buckets={stats.heldAge} />
    <BucketTable caption="Members by bounce score" head="score" buckets={stats.bounceScores} />
    <BucketTable caption="Queue entries by age" head="waiting for" buckets={stats.queueAge} />
  </div>
);
