// views.js -- the panel's pages. Each view renders into `main` and may return a cleanup
// function (timers); app.js calls it when the route changes.
import { get, api, can, me } from './api.js';
import { t } from './i18n.js';
import { h, table, pager, badge, toast, card, fmtTime, fmtNum, fmtPct, yesterday } from './dom.js';
import { lineChart, barChart, ms } from './charts.js';

const sevName = ['info', 'minor', 'major', 'critical'];
const chartBox = (id) => h('div', { class: 'chart', id });

function tile(label, value, sub, id) {
  return h('div', { class: 'tile', id }, h('div', { class: 'tile-label', text: t(label) }),
    h('div', { class: 'tile-value', text: value }), sub ? h('div', { class: 'tile-sub', text: sub }) : null);
}

// ---- dashboard --------------------------------------------------------------------------
const ingestSeries = [];

export async function dashboard(main) {
  const tiles = h('div', { class: 'tiles' });
  const grid = h('div', { class: 'cols' },
    card(t('chart_online'), chartBox('ch-online')), card(t('chart_ingest'), chartBox('ch-ingest')),
    card(t('chart_collect_area'), chartBox('ch-collect')), card(t('chart_lineloss'), chartBox('ch-loss')),
    card(t('recent_events'), h('div', { id: 'dash-events' })), card(t('recent_anomalies'), h('div', { id: 'dash-anom' })));
  main.append(tiles, grid);

  const refreshTiles = async () => {
    const s = await get('/api/kpi/summary');
    const c = s.collection_yesterday;
    ingestSeries.push([Date.now(), s.ingest.rows_per_s]);
    if (ingestSeries.length > 360) ingestSeries.shift();
    tiles.replaceChildren(
      tile('tile_online', `${s.terminals.online} / ${s.terminals.registered}`, null, 'tile-online'),
      tile('tile_rate', fmtPct(s.terminals.rate), null, 'tile-rate'),
      tile('tile_collect', c ? fmtPct(c.rate) : '—', c ? `${c.collected} / ${c.expected}` : null, 'tile-collect'),
      tile('tile_ingest', fmtNum(s.ingest.rows_per_s, 1), `${s.ingest.rows} rows`, 'tile-ingest'),
      tile('tile_anomalies', String(s.open_anomalies), null, 'tile-anomalies'));
    const el = document.getElementById('ch-ingest');
    if (el && window.echarts) {
      const ch = window.echarts.getInstanceByDom(el) || lineChart(el, null, [{ name: 'rows/s', data: [] }], { timeAxis: true, area: true, zero: true });
      ch && ch.setOption({ series: [{ data: ingestSeries.slice() }] });
    }
  };
  await refreshTiles();

  const [online, coll, loss, ev, an] = await Promise.all([
    get('/api/kpi/online'), get('/api/kpi/collection', { date: yesterday(), page_size: 10 }),
    get('/api/kpi/lineloss', { date: yesterday(), worst: 10 }), get('/api/events', { page_size: 8 }),
    get('/api/anomalies', { page_size: 8, state: 'open' })]);
  lineChart(document.getElementById('ch-online'), null,
    [{ name: t('tile_rate'), data: (online.history || []).map((p) => [ms(p.at), +(100 * p.rate).toFixed(1)]) }],
    { timeAxis: true, area: true, yName: '%', yMax: 100 });
  const areas = coll.areas || [];
  barChart(document.getElementById('ch-collect'), areas.map((a) => a.area),
    [{ name: t('rate'), data: areas.map((a) => +(100 * (a.rate || 0)).toFixed(1)) }], { yName: '%', yMax: 100 });
  const worst = loss.items || []; /* the 10 highest rates, sorted by the server */
  barChart(document.getElementById('ch-loss'), worst.map((r) => r.area),
    [{ name: t('rate'), data: worst.map((r) => +(100 * r.rate).toFixed(2)) }], { yName: '%' });
  document.getElementById('dash-events').append(eventsTable(ev.items || []));
  document.getElementById('dash-anom').append(anomaliesTable(an.items || [], null));
  const timer = setInterval(() => refreshTiles().catch(() => {}), 10000);
  return () => clearInterval(timer);
}

// ---- terminals --------------------------------------------------------------------------
export async function terminals(main, params) {
  const state = { page: 1, online: params.get('online') || '', search: params.get('search') || '', area: '' };
  const list = h('div');
  const search = h('input', { type: 'search', placeholder: t('search'), value: state.search, id: 'term-search' });
  const sel = h('select', { id: 'term-online' }, h('option', { value: '', text: t('all') }),
    h('option', { value: 'true', text: t('online') }), h('option', { value: 'false', text: t('offline') }));
  sel.value = state.online;
  const load = async () => {
    const r = await get('/api/terminals', { page: state.page, page_size: 50, online: state.online, search: state.search });
    list.replaceChildren(table([
      { key: 'id', get: (x) => h('a', { href: `#/terminal/${x.id}`, text: x.id }) },
      { key: 'name' }, { key: 'area' }, { key: 'vendor' },
      { key: 'status', get: (x) => badge(x.online, t('online'), t('offline')) },
      { key: 'last_seen', get: (x) => fmtTime(x.last_seen) }, { key: 'peer' },
      { key: 'clock_offset', get: (x) => x.clock_offset_s ?? '—' },
    ], r.items || [], (x) => { location.hash = `#/terminal/${x.id}`; }), pager(r, (p) => { state.page = p; load(); }));
  };
  const filter = () => { state.page = 1; state.online = sel.value; state.search = search.value.trim(); load(); };
  sel.addEventListener('change', filter);
  search.addEventListener('change', filter);
  main.append(card(t('nav_terminals'), h('div', { class: 'toolbar' }, search, sel), list));
  await load();
}

export async function terminal(main, params, id) {
  const d = await get(`/api/terminals/${encodeURIComponent(id)}`);
  const info = h('dl', { class: 'info' },
    h('dt', { text: t('status') }), h('dd', null, badge(d.online, t('online'), t('offline'))),
    h('dt', { text: t('name') }), h('dd', { text: d.name || '—' }),
    h('dt', { text: t('area') }), h('dd', { text: d.area || '—' }),
    h('dt', { text: t('last_seen') }), h('dd', { text: fmtTime(d.last_seen) }),
    h('dt', { text: t('peer') }), h('dd', { text: d.peer || '—' }),
    h('dt', { text: t('clock_offset') }), h('dd', { text: d.clock_offset_s ?? '—' }),
    h('dt', { text: t('version') }), h('dd', { text: d.version ? [d.version.vendor, d.version.sw_version, d.version.sw_date].filter(Boolean).join(' ') : '—' }));
  const points = table([
    { key: 'pn', get: (p) => h('a', { href: `#/point/${id}/${p.pn}`, text: String(p.pn) }) },
    { key: 'meter_addr', get: (p) => p.addr }, { key: 'area' }, { key: 'customer_class' },
  ], d.points || [], (p) => { location.hash = `#/point/${id}/${p.pn}`; });
  const frames = table([
    { key: 'time', get: (f) => fmtTime(f.at) }, { key: 'dir' }, { key: 'frame', get: (f) => h('code', { text: f.hex }), cls: 'hex' },
  ], d.frames || []);
  const cmdList = h('div', { id: 'term-cmds' });
  main.append(h('h1', { text: `${t('terminal')} ${d.id}` }),
    h('div', { class: 'cols' }, card(null, info), card(t('points'), points)),
    can('operator') ? card(t('commands'), commandForm(id, d.points || [], () => loadCmds()), cmdList) : card(t('commands'), cmdList),
    card(t('recent_frames'), frames));
  const loadCmds = async () => {
    const r = await get('/api/commands', { terminal: id, page_size: 10 });
    cmdList.replaceChildren(commandsTable(r.items || []));
  };
  await loadCmds();
  const timer = setInterval(() => loadCmds().catch(() => {}), 3000);
  return () => clearInterval(timer);
}

function commandForm(tid, points, after) {
  const types = ['read_current', 'read_daily', 'read_curve', 'clock_sync', 'read_meter_config', 'meter_read', 'relay_trip', 'relay_close'];
  const type = h('select', { id: 'cmd-type' }, types.map((x) => h('option', { value: x, text: t('cmd_' + x) })));
  const pn = h('select', { id: 'cmd-pn' }, (points.length ? points : [{ pn: 1 }]).map((p) => h('option', { value: p.pn, text: `pn ${p.pn}${p.addr ? ' · ' + p.addr : ''}` })));
  const date = h('input', { type: 'date', id: 'cmd-date', value: yesterday() });
  const send = h('button', { type: 'button', id: 'cmd-send', class: 'primary', text: t('send') });
  send.addEventListener('click', async () => {
    const body = { terminal: tid, type: type.value };
    const p = points.find((x) => String(x.pn) === pn.value);
    if (['read_current', 'read_daily', 'read_curve'].includes(type.value)) body.pn = Number(pn.value);
    if (['read_daily', 'read_curve'].includes(type.value)) body.date = date.value;
    if (['meter_read', 'relay_trip', 'relay_close'].includes(type.value)) {
      if (!p || !p.addr) { toast(t('meter_addr') + '?', true); return; }
      body.meter = String(p.addr).padStart(12, '0');
      if (type.value !== 'meter_read' && !confirm(`${t('confirm_relay')} ${body.meter}?`)) return;
    }
    try {
      const r = await api('POST', '/api/commands', body);
      toast(`#${r.id} ${r.state}`);
    } catch (e) { toast(`${t('error')}: ${e.message}`, true); }
    after();
  });
  return h('div', { class: 'toolbar' }, type, pn, date, send);
}

function commandsTable(items) {
  return table([
    { key: 'id', get: (c) => '#' + c.id }, { key: 'terminal' },
    { key: 'type', get: (c) => (c.request && c.request.type) || `AFN ${c.afn}` },
    { key: 'state', get: (c) => h('span', { class: 'state ' + c.state, text: c.state }) },
    { key: 'attempts' }, { key: 'created_by' }, { key: 'created_at', get: (c) => fmtTime(c.created_at) },
    { key: 'answer', get: (c) => c.answer ? h('code', { class: 'answer', text: JSON.stringify(c.answer) }) : '—' },
  ], items);
}

// ---- point -----------------------------------------------------------------------------
export async function point(main, params, tid, pn) {
  const date = h('input', { type: 'date', value: params.get('date') || yesterday(), id: 'curve-date' });
  main.append(h('h1', { text: `${t('point_detail')} ${tid} / pn ${pn}` }),
    h('div', { class: 'cols' }, card(t('daily_use'), chartBox('ch-daily')),
      card(t('curve'), h('div', { class: 'toolbar' }, date), chartBox('ch-curve')),
      card(t('voltage_current'), chartBox('ch-ui'))));
  const base = `/api/terminals/${encodeURIComponent(tid)}/points/${pn}`;
  const daily = await get(base + '/daily');
  const use = daily.use || [];
  barChart(document.getElementById('ch-daily'), use.map((u) => u.date.slice(5)), [{ name: 'kWh', data: use.map((u) => u.kwh) }], { yName: 'kWh' });
  const loadCurve = async () => {
    const c = await get(base + '/curve', { date: date.value });
    const el = document.getElementById('ch-curve');
    const old = window.echarts && window.echarts.getInstanceByDom(el);
    if (old) old.dispose();
    lineChart(el, null, [{ name: c.item, data: (c.items || []).map((p) => [ms(p.ts), p.value]) }], { timeAxis: true });
  };
  date.addEventListener('change', () => loadCurve().catch((e) => toast(e.message, true)));
  await loadCurve();
  const inst = await get(base + '/instant');
  const by = {};
  for (const r of inst.items || []) if (/^[ui][abc]$/.test(r.quantity)) (by[r.quantity] = by[r.quantity] || []).push([ms(r.read_at), r.value]);
  lineChart(document.getElementById('ch-ui'), null, Object.keys(by).sort().reverse().map((q) => ({ name: q.toUpperCase(), data: by[q], axis: q[0] === 'i' ? 1 : 0 })),
    { timeAxis: true, yNames: ['V', 'A'] });
}

// ---- events, anomalies, line loss, commands ---------------------------------------------
function eventsTable(items) {
  return table([
    { key: 'received', get: (e) => fmtTime(e.received_at) },
    { key: 'terminal', get: (e) => h('a', { href: `#/terminal/${e.terminal}`, text: e.terminal }) },
    { key: 'erc', get: (e) => 'ERC' + e.erc }, { key: 'pn' },
    { key: 'severity', get: (e) => h('span', { class: 'sev s' + e.severity, text: sevName[e.severity] || e.severity }) },
    { key: 'occurred', get: (e) => fmtTime(e.occurred_at) },
    { key: 'fields', get: (e) => { const j = JSON.stringify(e.fields || {}); return h('code', { text: j.length > 80 ? j.slice(0, 77) + '…' : j, title: j }); } },
  ], items);
}

export async function events(main) {
  const list = h('div');
  let page = 1;
  const sev = h('select', { id: 'ev-sev' }, [0, 1, 2, 3].map((s) => h('option', { value: s, text: s ? '≥ ' + sevName[s] : t('all') })));
  const load = async () => {
    const r = await get('/api/events', { page, page_size: 50, min_severity: sev.value });
    list.replaceChildren(eventsTable(r.items || []), pager(r, (p) => { page = p; load(); }));
  };
  sev.addEventListener('change', () => { page = 1; load(); });
  main.append(card(t('nav_events'), h('div', { class: 'toolbar' }, sev), list));
  await load();
}

// An anomaly's evidence: its own sentence when the rule wrote one, else compact JSON.
function evidenceText(ev) {
  if (ev && typeof ev.detail === 'string') return ev.detail;
  const j = JSON.stringify(ev || {});
  return h('code', { text: j.length > 80 ? j.slice(0, 77) + '…' : j, title: j });
}

function anomaliesTable(items, reload) {
  return table([
    { key: 'time', get: (a) => fmtTime(a.at) }, { key: 'kind' },
    { key: 'terminal', get: (a) => h('a', { href: `#/terminal/${a.terminal}`, text: a.terminal }) },
    { key: 'pn' }, { key: 'area' },
    { key: 'severity', get: (a) => h('span', { class: 'sev s' + a.severity, text: sevName[a.severity] || a.severity }) },
    { key: 'evidence', get: (a) => evidenceText(a.evidence) },
    { key: 'state', get: (a) => (reload && can('operator') && a.state === 'open')
      ? h('button', { type: 'button', text: t('ack'), onclick: async () => {
        try { await api('POST', `/api/anomalies/${a.id}/state`, { state: 'ack' }); reload(); } catch (e) { toast(e.message, true); }
      } }) : a.state },
  ], items);
}

export async function anomalies(main) {
  const list = h('div');
  let page = 1;
  const st = h('select', { id: 'an-state' }, ['open', 'ack', 'closed', 'resolved', ''].map((s) => h('option', { value: s, text: s || t('all') })));
  const load = async () => {
    const r = await get('/api/anomalies', { page, page_size: 50, state: st.value });
    list.replaceChildren(anomaliesTable(r.items || [], load), pager(r, (p) => { page = p; load(); }));
  };
  st.addEventListener('change', () => { page = 1; load(); });
  main.append(card(t('nav_anomalies'), h('div', { class: 'toolbar' }, st), list));
  await load();
}

export async function lineloss(main) {
  const date = h('input', { type: 'date', value: yesterday(), id: 'loss-date' });
  const out = h('div');
  const load = async () => {
    const r = await get('/api/kpi/lineloss', { date: date.value });
    const items = (r.items || []).slice().sort((a, b) => (b.rate ?? -1) - (a.rate ?? -1));
    out.replaceChildren(chartBox('ch-loss-all'), table([
      { key: 'area' }, { key: 'supply', get: (x) => fmtNum(x.supply_kwh) }, { key: 'consumed', get: (x) => fmtNum(x.consumed_kwh) },
      { key: 'loss', get: (x) => fmtNum(x.loss_kwh) }, { key: 'rate', get: (x) => fmtPct(x.rate) }, { key: 'flag' },
      { key: 'meters', get: (x) => `${x.meters_counted} / ${x.meters_expected}` },
    ], items));
    barChart(document.getElementById('ch-loss-all'), items.map((x) => x.area), [{ name: t('rate'), data: items.map((x) => x.rate === null ? null : +(100 * x.rate).toFixed(2)) }], { yName: '%' });
  };
  date.addEventListener('change', () => load().catch((e) => toast(e.message, true)));
  main.append(card(t('nav_lineloss'), h('div', { class: 'toolbar' }, date), out));
  await load();
}

export async function commands(main) {
  const list = h('div');
  let page = 1;
  const load = async () => {
    const r = await get('/api/commands', { page, page_size: 50 });
    list.replaceChildren(commandsTable(r.items || []), pager(r, (p) => { page = p; load(); }));
  };
  main.append(card(t('nav_commands'), list));
  await load();
  const timer = setInterval(() => load().catch(() => {}), 3000);
  return () => clearInterval(timer);
}

// ---- admin -------------------------------------------------------------------------------
export async function users(main) {
  const list = h('div');
  const load = async () => {
    const r = await get('/api/users');
    list.replaceChildren(table([
      { key: 'name' }, { key: 'role' }, { key: 'created_at', get: (u) => fmtTime(u.created_at) },
      { key: 'action', get: (u) => u.name === me.user ? '—' : h('span', null,
        roleSelect(u.role, async (role) => { await act('PATCH', u.name, { role }); }),
        h('button', { type: 'button', text: t('delete'), onclick: async () => { if (confirm(`${t('delete')} ${u.name}?`)) await act('DELETE', u.name); } })) },
    ], r.items || []));
  };
  const act = async (method, name, body) => {
    try { await api(method, `/api/users/${encodeURIComponent(name)}`, body); toast(t('saved')); } catch (e) { toast(e.message, true); }
    load();
  };
  const name = h('input', { placeholder: t('name'), id: 'u-name' });
  const pw = h('input', { type: 'password', placeholder: t('password'), id: 'u-pw', autocomplete: 'new-password' });
  let role = 'viewer';
  const create = h('button', { type: 'button', class: 'primary', text: t('create_user'), onclick: async () => {
    try { await api('POST', '/api/users', { name: name.value.trim(), role, password: pw.value }); toast(t('saved')); name.value = pw.value = ''; } catch (e) { toast(e.message, true); }
    load();
  } });
  main.append(card(t('nav_users'), h('div', { class: 'toolbar' }, name, pw, roleSelect(role, (r) => { role = r; }), create), list));
  await load();
}

function roleSelect(cur, onchange) {
  const s = h('select', null, ['viewer', 'operator', 'admin'].map((r) => h('option', { value: r, text: r })));
  s.value = cur;
  s.addEventListener('change', () => onchange(s.value));
  return s;
}

export async function audit(main) {
  const list = h('div');
  let page = 1;
  const load = async () => {
    const r = await get('/api/audit', { page, page_size: 50 });
    list.replaceChildren(table([
      { key: 'time', get: (a) => fmtTime(a.at) }, { key: 'user' }, { key: 'action' }, { key: 'target' },
      { key: 'detail', get: (a) => a.detail ? h('code', { text: JSON.stringify(a.detail) }) : '—' }, { key: 'remote' },
    ], r.items || []), pager(r, (p) => { page = p; load(); }));
  };
  main.append(card(t('nav_audit'), list));
  await load();
}
