// app.js -- the panel's entry: session check, login form, hash router, language switch.
// Routes: #/dashboard #/terminals #/terminal/RRRR-TTTT #/point/RRRR-TTTT/PN #/events
// #/lineloss #/anomalies #/commands #/users #/audit (admin) -- all behind the login.
import { whoami, login, logout, can, me } from './api.js';
import { t, apply, setLang, getLang } from './i18n.js';
import { h, toast } from './dom.js';
import { disposeAll } from './charts.js';
import * as v from './views.js';

const main = document.getElementById('main');
let cleanup = null;

const routes = [
  [/^#\/dashboard$/, v.dashboard], [/^#\/terminals$/, v.terminals],
  [/^#\/terminal\/([0-9]{4}-[0-9A-Fa-f]{4})$/, v.terminal],
  [/^#\/point\/([0-9]{4}-[0-9A-Fa-f]{4})\/([0-9]+)$/, v.point],
  [/^#\/events$/, v.events], [/^#\/lineloss$/, v.lineloss], [/^#\/anomalies$/, v.anomalies],
  [/^#\/commands$/, v.commands], [/^#\/users$/, v.users, 'admin'], [/^#\/audit$/, v.audit, 'admin'],
];

function chrome() {
  const logged = !!me;
  document.getElementById('nav').hidden = !logged;
  document.getElementById('logout').hidden = !logged;
  document.getElementById('who').textContent = logged ? `${me.user} (${me.role})` : '';
  for (const a of document.querySelectorAll('.admin-only')) a.hidden = !can('admin');
  document.getElementById('lang').textContent = getLang() === 'zh' ? 'English' : '中文';
  apply(document);
  const cur = location.hash.split('?')[0];
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', cur.startsWith(a.getAttribute('href')));
}

function loginView() {
  const user = h('input', { id: 'login-user', autocomplete: 'username', required: true });
  const pw = h('input', { id: 'login-password', type: 'password', autocomplete: 'current-password', required: true });
  const err = h('p', { class: 'error', id: 'login-error' });
  const form = h('form', { class: 'login card', id: 'login-form' },
    h('h1', { text: t('login_title') }),
    h('label', null, t('username'), user), h('label', null, t('password'), pw), err,
    h('button', { type: 'submit', class: 'primary', text: t('login') }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await login(user.value.trim(), pw.value);
      if (!location.hash || location.hash === '#/login') location.hash = '#/dashboard';
      else render();
    } catch (ex) { err.textContent = `${t('login_failed')}: ${ex.message}`; }
  });
  main.replaceChildren(form);
  user.focus();
}

async function render() {
  if (cleanup) { cleanup(); cleanup = null; }
  disposeAll();
  chrome();
  if (!me) { loginView(); return; }
  const [hash, query] = (location.hash || '#/dashboard').split('?');
  for (const [re, fn, role] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    if (role && !can(role)) break;
    main.replaceChildren();
    try {
      cleanup = (await fn(main, new URLSearchParams(query || ''), ...m.slice(1))) || null;
    } catch (e) {
      if (e.status !== 401) main.append(h('p', { class: 'error', text: `${t('error')}: ${e.message}` }));
    }
    return;
  }
  location.hash = '#/dashboard';
}

document.getElementById('lang').addEventListener('click', () => { setLang(getLang() === 'zh' ? 'en' : 'zh'); render(); });
document.getElementById('logout').addEventListener('click', async () => { await logout().catch(() => {}); render(); });
window.addEventListener('hashchange', render);
window.addEventListener('mf-unauthorized', () => { toast(t('session_expired'), true); render(); });

setLang(getLang());
whoami().catch(() => null).finally(render);
