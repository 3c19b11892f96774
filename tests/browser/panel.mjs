// panel.mjs -- browser test of the panel with playwright-core driving Debian's Chromium.
// Runs against any instance:
//   MF_BASE_URL=http://127.0.0.1:8080 MF_USER=admin MF_PASSWORD=... node tests/browser/panel.mjs
// Optional: MF_ANSWER_CMD = a shell command that answers queued commands (standalone
// `meterflow web` has no front; tests/integ/browser.sh points it at bench_web_fixture
// --answer-queued). MF_TERMINAL = terminal to open (default: first online one).
// Screenshots go to tests/browser/artifacts/ (git-ignored). Ends with "# N passed, M failed".
import { createRequire } from 'node:module';
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(new URL('../../web/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const base = process.env.MF_BASE_URL || 'http://127.0.0.1:8080';
const user = process.env.MF_USER || 'admin';
const password = process.env.MF_PASSWORD || '';
const art = path.join(path.dirname(new URL(import.meta.url).pathname), 'artifacts');
fs.mkdirSync(art, { recursive: true });
let passed = 0, failed = 0;
const check = (cond, what) => { cond ? passed++ : failed++; console.log(`${cond ? 'ok' : 'not ok'} - ${what}`); return cond; };

async function step(name, fn) {
  try { await fn(); } catch (e) { check(false, `${name}: ${e.message.split('\n')[0]}`); }
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mf-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.MF_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
});
const page = ctx.pages()[0] || await ctx.newPage();
page.setDefaultTimeout(15000);
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error' && !/40[139]|409/.test(m.text())) consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));
page.on('response', (r) => { if (r.status() === 404) consoleErrors.push('404 ' + r.url()); });

try {
  await step('login', async () => {
    await page.goto(base + '/');
    await page.waitForSelector('#login-form');
    check(true, 'login form shown');
    await page.fill('#login-user', user);
    await page.fill('#login-password', 'definitely-wrong');
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0);
    check(true, 'wrong password shows an error');
    await page.fill('#login-password', password);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#tile-online');
    check(true, 'logged in, dashboard shown');
  });

  await step('dashboard', async () => {
    const txt = await page.textContent('#tile-online .tile-value');
    check(/^\d+ \/ \d+$/.test(txt.trim()) && !/^0 \/ 0$/.test(txt.trim()), `online tile has numbers (${txt.trim()})`);
    const rate = await page.textContent('#tile-rate .tile-value');
    check(/%/.test(rate), `online rate tile (${rate.trim()})`);
    await page.waitForSelector('#ch-online canvas');
    await page.waitForSelector('#ch-collect canvas');
    check(true, 'dashboard charts drawn (ECharts canvas)');
    const rows = await page.$$eval('#dash-events tbody tr', (r) => r.length);
    check(rows > 0, `recent events listed (${rows})`);
    await page.screenshot({ path: path.join(art, 'dashboard.png'), fullPage: true });
  });

  let tid = process.env.MF_TERMINAL || '';
  await step('terminals', async () => {
    await page.click('nav a[href="#/terminals"]');
    await page.selectOption('#term-online', 'true');
    await page.waitForFunction(() => document.querySelectorAll('.badge.ok').length > 0 && !document.querySelector('.badge.off'));
    check(true, 'terminal list filtered to online');
    if (!tid) tid = (await page.textContent('table.grid tbody tr td a')).trim();
    await page.screenshot({ path: path.join(art, 'terminals.png') });
    await page.goto(`${base}/#/terminal/${tid}`);
    await page.waitForSelector('#cmd-send');
    const h1 = await page.textContent('h1');
    check(h1.includes(tid), `terminal detail of ${tid}`);
    check(await page.$('.info .badge.ok') !== null, 'terminal shown online');
  });

  await step('command', async () => {
    await page.selectOption('#cmd-type', 'read_current');
    await page.click('#cmd-send');
    // The toast says "#<id> <state>"; other commands (the worker's re-collection, clock
    // sync) may be listed for the same terminal, so follow this one by its id.
    await page.waitForFunction(() => /^#\d+ /.test(document.getElementById('toast').textContent));
    const id = (await page.textContent('#toast')).match(/^#(\d+) (\w+)/);
    check(id && ['queued', 'sent', 'answered'].includes(id[2]), `read command created (${id && id[0]})`);
    if (process.env.MF_ANSWER_CMD) execSync(process.env.MF_ANSWER_CMD, { stdio: 'ignore' });
    await page.waitForFunction((cid) => [...document.querySelectorAll('#term-cmds tbody tr')].some(
      (tr) => tr.cells[0].textContent === '#' + cid && tr.querySelector('.state').textContent === 'answered'),
    id[1], { timeout: 60000 });
    const ans = await page.$$eval('#term-cmds tbody tr', (rows, cid) => {
      const tr = rows.find((r) => r.cells[0].textContent === '#' + cid);
      const c = tr && tr.querySelector('code.answer');
      return c ? c.textContent : '';
    }, id[1]);
    check(ans.length > 2, `command #${id[1]} answered, answer shown (${ans.slice(0, 60)})`);
    await page.screenshot({ path: path.join(art, 'terminal.png'), fullPage: true });
  });

  await step('point', async () => {
    await page.goto(`${base}/#/point/${tid}/2`);
    await page.waitForSelector('#ch-daily canvas');
    await page.waitForSelector('#ch-curve canvas');
    check(true, 'point page: daily and curve charts');
    await page.screenshot({ path: path.join(art, 'point.png'), fullPage: true });
  });

  await step('language', async () => {
    await page.goto(`${base}/#/dashboard`);
    await page.waitForSelector('#tile-online');
    await page.click('#lang');
    await page.waitForFunction(() => document.querySelector('nav a[href="#/terminals"]').textContent === '终端');
    check(true, 'switched to Chinese');
    await page.reload();
    await page.waitForSelector('#tile-online');
    const label = await page.textContent('nav a[href="#/terminals"]');
    check(label === '终端', 'language remembered after reload');
    await page.screenshot({ path: path.join(art, 'dashboard-zh.png'), fullPage: true });
    await page.click('#lang');
    await page.waitForFunction(() => document.querySelector('nav a[href="#/terminals"]').textContent === 'Terminals');
  });

  await step('tablet', async () => {
    await page.setViewportSize({ width: 768, height: 1024 });
    await page.goto(`${base}/#/dashboard`);
    await page.waitForSelector('#ch-online canvas');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, `no horizontal scroll at 768 px (${overflow})`);
    await page.screenshot({ path: path.join(art, 'dashboard-tablet.png'), fullPage: true });
  });

  await step('logout', async () => {
    await page.click('#logout');
    await page.waitForSelector('#login-form');
    check(true, 'logout returns to the login form');
  });
  check(consoleErrors.length === 0, `no console errors or CSP violations (${consoleErrors.slice(0, 3).join(' | ')})`);
} finally {
  await ctx.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
console.log(`# ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
