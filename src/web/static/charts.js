// Draws each statistics table marked `data-chart` with Chart.js (served by malist from its
// node_modules, no CDN). The table stays on the page: it is the fallback without script
// and the chart's only data source, so nothing is inlined into a script.

function tableData(table) {
  const heads = [...table.querySelectorAll('thead th')].map((th) => th.textContent.trim());
  const rows = [...table.querySelectorAll('tbody tr')].map((tr) =>
    [...tr.children].map((td) => td.textContent.trim()),
  );
  return {
    labels: rows.map((r) => r[0]),
    series: heads
      .slice(1)
      .map((name, i) => ({ name, values: rows.map((r) => Number(r[i + 1]) || 0) })),
  };
}

const COLOURS = ['#1b6e2a', '#c77c02', '#a4161a', '#0b5cad', '#6a3d9a'];

function draw(table) {
  const { labels, series } = tableData(table);
  const holder = document.createElement('div');
  holder.className = 'chart';
  const canvas = document.createElement('canvas');
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', table.querySelector('caption')?.textContent ?? 'chart');
  holder.appendChild(canvas);
  table.before(holder);
  const stacked = table.dataset.chart === 'stacked';
  new Chart(canvas, {
    type: table.dataset.chart === 'line' ? 'line' : 'bar',
    data: {
      labels,
      datasets: series.map((s, i) => ({
        label: s.name,
        data: s.values,
        backgroundColor: COLOURS[i % COLOURS.length],
        borderColor: COLOURS[i % COLOURS.length],
      })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: { x: { stacked }, y: { stacked, beginAtZero: true, ticks: { precision: 0 } } },
      plugins: {
        title: { display: true, text: table.querySelector('caption')?.textContent ?? '' },
      },
    },
  });
  document.documentElement.dataset.chartsDrawn = String(
    Number(document.documentElement.dataset.chartsDrawn ?? 0) + 1,
  );
}

document.addEventListener('DOMContentLoaded', () => {
  for (const table of document.querySelectorAll('table[data-chart]')) draw(table);
  document.documentElement.dataset.chartsReady = 'yes';
});
