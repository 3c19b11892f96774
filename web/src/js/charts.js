// charts.js -- thin wrappers over Apache ECharts (window.echarts, loaded by index.html).
// Every chart is disposed when the view changes (disposeAll) so polling views do not leak.
const live = new Set();

export function disposeAll() {
  for (const c of live) c.dispose();
  live.clear();
}

function make(el, option) {
  if (!window.echarts) { el.textContent = 'charts unavailable'; return null; }
  const c = window.echarts.init(el, null, { renderer: 'canvas' });
  c.setOption(Object.assign({ animation: false, grid: { left: 50, right: 20, top: 30, bottom: 40 },
    tooltip: { trigger: 'axis' } }, option));
  live.add(c);
  return c;
}

window.addEventListener('resize', () => { for (const c of live) c.resize(); });

// Times from the API are ISO strings (or epoch seconds): ECharts wants milliseconds.
export const ms = (t) => (typeof t === 'number' ? t * 1000 : Date.parse(t));

// series: [{name, data: [[x, y]...], axis: 0|1}]; opts.yNames = [left, right] for two axes.
export function lineChart(el, x, series, opts = {}) {
  const two = series.some((s) => s.axis === 1);
  const axis = (name) => ({ type: 'value', name, scale: !opts.zero, max: opts.yMax });
  return make(el, {
    legend: series.length > 1 ? { top: 0 } : undefined,
    grid: { left: 55, right: two ? 55 : 20, top: 36, bottom: 40 },
    xAxis: { type: opts.timeAxis ? 'time' : 'category', data: opts.timeAxis ? undefined : x },
    yAxis: two ? [axis((opts.yNames || [])[0]), axis((opts.yNames || [])[1])] : axis(opts.yName),
    series: series.map((s) => ({ name: s.name, type: 'line', showSymbol: false, data: s.data,
      yAxisIndex: s.axis || 0, areaStyle: opts.area ? {} : undefined })),
  });
}

export function barChart(el, x, series, opts = {}) {
  return make(el, {
    legend: series.length > 1 ? { top: 0 } : undefined,
    xAxis: { type: 'category', data: x, axisLabel: { rotate: x.length > 8 ? 30 : 0, hideOverlap: true } },
    yAxis: { type: 'value', name: opts.yName, max: opts.yMax },
    series: series.map((s) => ({ name: s.name, type: 'bar', data: s.data })),
  });
}
