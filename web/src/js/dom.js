// dom.js -- tiny DOM helpers. Text always goes in through textContent (never innerHTML), so
// data from the API cannot inject markup.
import { t } from './i18n.js';

export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat()) {
    if (kid === undefined || kid === null || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

export const fmtTime = (s) => {
  if (!s) return '—';
  const d = new Date(s);
  if (isNaN(d)) return s;
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
};
export const fmtNum = (v, digits = 2) => (v === null || v === undefined || isNaN(v)) ? '—' : Number(v).toFixed(digits);
export const fmtPct = (v) => (v === null || v === undefined || isNaN(v)) ? '—' : (100 * v).toFixed(1) + ' %';

export function isoDate(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}
export const yesterday = () => isoDate(new Date(Date.now() - 86400000));

// A table: cols = [{key|label, get(row) -> text or Node}], rows = array.
export function table(cols, rows, onRow) {
  const head = h('tr', null, cols.map((c) => h('th', { text: t(c.label || c.key) })));
  const body = rows.length ? rows.map((r) => {
    const tr = h('tr', onRow ? { class: 'click', onclick: () => onRow(r) } : null,
      cols.map((c) => {
        const v = c.get ? c.get(r) : r[c.key];
        return h('td', { class: c.cls }, v instanceof Node ? v : (v === null || v === undefined ? '—' : String(v)));
      }));
    return tr;
  }) : [h('tr', null, h('td', { colspan: cols.length, class: 'muted', text: t('no_data') }))];
  return h('table', { class: 'grid' }, h('thead', null, head), h('tbody', null, body));
}

// Pager for {"total","page","page_size"} answers.
export function pager(res, go) {
  const pages = Math.max(1, Math.ceil((res.total || 0) / (res.page_size || 50)));
  const page = res.page || 1;
  return h('div', { class: 'pager' },
    h('button', { type: 'button', disabled: page <= 1, onclick: () => go(page - 1), text: t('prev') }),
    h('span', { text: `${t('page')} ${page} / ${pages} (${res.total || 0} ${t('total')})` }),
    h('button', { type: 'button', disabled: page >= pages, onclick: () => go(page + 1), text: t('next') }));
}

export function badge(on, yes, no) {
  return h('span', { class: on ? 'badge ok' : 'badge off', text: on ? yes : no });
}

export function toast(msg, bad) {
  const el = document.getElementById('toast');
  el.textContent = msg;
  el.className = bad ? 'show bad' : 'show';
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.className = ''; }, 4000);
}

export function card(title, ...kids) {
  return h('section', { class: 'card' }, title ? h('h2', { text: title }) : null, ...kids);
}
