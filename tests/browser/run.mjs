// The browser suite: the site and its forms in headless Chromium (Debian's chromium, driven by
// playwright-core), as the public, employers and 12333 staff use them.
//
//   node tests/browser/run.mjs            (tests/run.sh runs it after the cargo tests)
//
// It starts the already-built `beian serve` (BEIAN_BIN, else $CARGO_TARGET_DIR/debug/beian,
// else target/debug/beian) on a free port of 127.0.0.1 with a fresh store and a staff
// identity, then:
//   1. every page of the built site (`beian build` into a temporary folder, every HTML file),
//      at 1280 px (desktop) and 375 px (phone): axe-core at WCAG 2.1 AA plus the checklist of
//      ../shared/docs/domain.md (audit.mjs), a Tab walk checking visible focus, a screenshot;
//      and again at 320 px and 640 px wide (400 % and 200 % zoom of a 1280 px window) for
//      sideways scrolling. Alias pages (/q/N/, /v/N/) redirect: each must land on its page.
//   2. every state of every form (content/forms/*.toml): empty, with errors found in the page,
//      with errors found by the server (as without JavaScript), review, confirmation, receipt,
//      plus the exempt page (annual pay) and the staff route's reason box; and the bulk
//      upload's states (empty, unit and sheet mistakes, the report of a file with mistakes with
//      its marked copy, the batch receipt of a clean file, the same file again); audited like
//      pages.
//   3. the newcomer's journey (home, guide, flowchart, download, form with mistakes, error
//      summary, corrections, review, submit, confirmation, receipt) on desktop, on a phone
//      with touch, with the keyboard only, and without JavaScript; an employer's upload
//      (mistakes, report, marked copy, clean file, batch receipt) with the mouse and with the
//      keyboard only.
//   4. after the server stops, `beian export` shows every submitted record in the store,
//      the people of every uploaded file among them.
// Screenshots go to tests/screenshots/ (desktop-*.jpg, phone-*.jpg). It prints what it
// checked and "N passed, M failed", and exits non-zero on any failure.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { runAxe, pageFacts, focusWalk, AXE_VERSION } from './audit.mjs';
import {
  fieldsOf,
  exampleValues,
  fillForm,
  formValues,
  focused,
  tabTo,
  byId,
  byHref,
  byText,
  dateOrder,
  keyboardFill,
} from './forms.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const started = Date.now();
const targetDir = process.env.CARGO_TARGET_DIR ? path.resolve(repo, process.env.CARGO_TARGET_DIR) : path.join(repo, 'target');
const BIN = process.env.BEIAN_BIN || path.join(targetDir, 'debug', 'beian');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = path.join(repo, 'tests', 'screenshots');
// JPEG keeps the folder small enough to commit (full-page PNGs would be about 26 MB).
const SHOT_TYPE = 'jpeg';
const SHOT_QUALITY = 70;
// BROWSER_ONLY=pages,zoom,forms,journeys,keyboard,nojs,upload runs some parts (for working on
// them; `upload` is the upload's states and journeys, which forms, journeys and keyboard include);
// the store check and the summary run always.
const ONLY = process.env.BROWSER_ONLY ? new Set(process.env.BROWSER_ONLY.split(',')) : null;
const part = (name) => !ONLY || ONLY.has(name);
const STAFF = { agency: '新城区人社局', handler: '赵经办' };
// The 30 characters of references: no 0/O, 1/I/L, U.
const REFERENCE = /^[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}$/;

const VIEWPORTS = {
  desktop: { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 },
  phone: { viewport: { width: 375, height: 740 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true },
};

// --- a small runner ------------------------------------------------------------------------

const stats = { pages: new Set(), states: new Set(), uploads: 0, batches: 0, audits: 0, requests: 0, apiRequests: 0, redirects: 0, shots: 0, tabStops: 0, violations: 0, svgTexts: 0 };
const incomplete = new Map(); // axe "needs review" rule → count
let passed = 0;
let failed = 0;
const failures = [];

async function check(name, fn) {
  const problems = [];
  const t = {
    ok(cond, message) {
      if (!cond) problems.push(message);
      return !!cond;
    },
    problem(message) {
      problems.push(message);
    },
  };
  const t0 = Date.now();
  try {
    await fn(t);
  } catch (e) {
    problems.push(`stopped: ${e.message.split('\n').slice(0, 6).join('\n    ')}`);
  }
  const ms = Date.now() - t0;
  if (problems.length) {
    failed++;
    failures.push(name);
    console.log(`FAIL ${name} (${ms} ms)`);
    for (const p of problems.slice(0, 30)) console.log(`     - ${p}`);
    if (problems.length > 30) console.log(`     … and ${problems.length - 30} more`);
  } else {
    passed++;
    console.log(`ok   ${name} (${ms} ms)`);
  }
}

function must(cond, message) {
  if (!cond) throw new Error(message);
}

// --- the server ----------------------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function startServer(store) {
  const port = await freePort();
  const log = [];
  const child = spawn(
    BIN,
    ['serve', '--interface', '127.0.0.1', '--port', String(port), '--store', store, '--staff-agency', STAFF.agency, '--staff-handler', STAFF.handler],
    { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (d) => log.push(String(d)));
  child.stderr.on('data', (d) => log.push(String(d)));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) break;
    try {
      const r = await fetch(base + '/');
      if (r.ok) return { child, base, log };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  throw new Error(`beian serve did not start on ${base}:\n${log.join('')}`);
}

async function stopServer(server) {
  if (server.child.exitCode !== null) return;
  const done = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(timer);
}

// --- pages of the built site ---------------------------------------------------------------

function builtPages(outDir) {
  execFileSync(BIN, ['build', '--output-dir', outDir], { cwd: repo, stdio: 'pipe' });
  const pages = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.html')) {
        const rel = path.relative(outDir, full).split(path.sep).join('/');
        const url = '/' + rel.replace(/(^|\/)index\.html$/, '$1');
        const html = fs.readFileSync(full, 'utf8');
        const refresh = html.match(/http-equiv="refresh"\s+content="0;\s*url=([^"]+)"/);
        pages.push({ url, html, redirect: refresh ? refresh[1] : null });
      }
    }
  };
  walk(outDir);
  pages.sort((a, b) => a.url.localeCompare(b.url));
  return pages;
}

function shotName(url) {
  if (url === '/') return 'home';
  return url.replace(/\.html$/, '').replace(/^\/|\/$/g, '').replace(/\//g, '-');
}

const written = new Set();
async function screenshot(page, name, { scripts = true } = {}) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.${SHOT_TYPE === 'jpeg' ? 'jpg' : 'png'}`);
  // Hide the text cursor so that the same page gives the same picture. (Both need scripts in
  // the page: with JavaScript off, Playwright would wait for ever.)
  const still = scripts ? { caret: 'hide', animations: 'disabled' } : {};
  await page.screenshot({ path: file, fullPage: true, type: SHOT_TYPE, ...(SHOT_TYPE === 'jpeg' ? { quality: SHOT_QUALITY } : {}), ...still });
  written.add(path.basename(file));
  stats.shots++;
}

/** axe, the checklist, a screenshot, then a Tab walk (desktop). */
async function audit(t, page, vp, name, { focusFromTop = false, walk = true } = {}) {
  const [violations, needsReview] = await runAxe(page);
  stats.audits++;
  for (const v of violations) {
    stats.violations += v.nodes.length;
    t.problem(`axe ${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target).join(' | ')}${v.nodes.length > 3 ? ` (+${v.nodes.length - 3})` : ''}`);
  }
  for (const v of needsReview) incomplete.set(v.id, (incomplete.get(v.id) || 0) + v.nodes.length);
  const facts = await pageFacts(page, { phone: vp === 'phone' });
  stats.svgTexts += facts.svgTexts;
  for (const p of facts.problems) t.problem(p);
  // The picture first, with the focus where the page put it; the Tab walk moves it.
  await screenshot(page, `${vp}-${name}`);
  if (walk && vp === 'desktop') {
    const [problems, stops] = await focusWalk(page, { fromTop: focusFromTop });
    stats.tabStops += stops;
    for (const p of problems) t.problem(p);
  }
  return facts;
}

// --- contexts ------------------------------------------------------------------------------

const pageProblems = [];
function watch(context, label) {
  context.on('request', () => stats.requests++);
  context.on('response', (r) => {
    const url = new URL(r.url());
    // A form with mistakes comes back as 422 with the error summary: that is the design.
    const formErrors = r.status() === 422 && r.request().method() === 'POST' && /^\/api\/(staff\/)?forms\//.test(url.pathname);
    if (r.status() >= 400 && !formErrors && !context.expected404?.has(url.pathname)) pageProblems.push(`${label}: HTTP ${r.status()} for ${url.pathname}`);
  });
  context.on('page', (p) => {
    p.on('pageerror', (e) => pageProblems.push(`${label}: script error on ${p.url()}: ${e.message}`));
    p.on('console', (m) => {
      // Failed loads are reported by status above, with the expected ones left out.
      if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) pageProblems.push(`${label}: console error on ${p.url()}: ${m.text()}`);
    });
    p.on('dialog', (d) => {
      pageProblems.push(`${label}: a dialog popped up on ${p.url()}: ${d.message()}`);
      d.dismiss().catch(() => {});
    });
    p.on('popup', (w) => pageProblems.push(`${label}: a pop-up window opened from ${p.url()}: ${w.url()}`));
  });
  return context;
}

async function newContext(browser, base, vp, extra = {}) {
  const context = await browser.newContext({
    ...VIEWPORTS[vp],
    baseURL: base,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    acceptDownloads: true,
    reducedMotion: 'reduce',
    ...extra,
  });
  context.setDefaultTimeout(15000);
  return watch(context, extra.javaScriptEnabled === false ? `${vp} (no JavaScript)` : vp);
}

// --- records the suite expects in the store ------------------------------------------------

const submitted = []; // { form, reference, expect: [strings in the exported row], channel }

async function jsonReceipt(t, context, reference) {
  const r = await context.request.get(`/api/receipts/${reference}`, { headers: { Accept: 'application/json' } });
  stats.apiRequests++;
  t.ok(r.status() === 200, `GET /api/receipts/${reference} as JSON gave ${r.status()}`);
  if (r.status() !== 200) return null;
  const body = await r.json();
  t.ok(body.reference === reference, `JSON receipt names ${body.reference}, not ${reference}`);
  return body;
}

// --- the form's states ---------------------------------------------------------------------

const click = async (vp, locator) => (vp === 'phone' ? locator.tap() : locator.click());

async function waitForUrl(page, re) {
  await page.waitForURL(re, { waitUntil: 'load' });
}

/**
 * Submits with the button a person presses and waits for the next page (a server round trip)
 * or for the page's own check (no navigation).
 */
async function pressNext(page, vp) {
  await click(vp, page.locator('form[data-form] button.button[value="review"]'));
}

/** The state sweep of one form in one viewport: each state audited and photographed. */
async function formStates(context, vp, def) {
  const page = await context.newPage();
  const id = def.id;
  const state = (s) => {
    stats.states.add(`${id}:${s}`);
    return `form-${id}-${s}`;
  };
  try {
    await check(`${vp} ${id}: empty form`, async (t) => {
      await page.goto(`/forms/${id}/`);
      must(await page.locator(`form[data-form="${id}"]`).count(), 'no form on the page');
      await audit(t, page, vp, state('empty'), { walk: false });
    });
    await check(`${vp} ${id}: errors found in the page (JavaScript)`, async (t) => {
      await pressNext(page, vp);
      await page.locator('#error-summary').waitFor();
      t.ok(page.url().endsWith(`/forms/${id}/`), `the page's own check should keep the page, went to ${page.url()}`);
      t.ok((await focused(page)).id === 'error-summary', 'focus is not on the error summary');
      // Every required single field is listed; an empty row counts as no row, so a group asks
      // for its rows once rather than for each of their fields.
      const hrefs = await page.locator('#error-summary a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      for (const f of fieldsOf(def).filter((x) => x.required && !x.group)) t.ok(hrefs.includes(`#${f.id}`), `empty ${f.label} is not listed in the error summary`);
      for (const g of (def.groups || []).filter((x) => x.min_rows > 0)) t.ok(hrefs.some((h) => h.includes(g.key)), `the empty ${g.title} rows are not listed in the error summary`);
      t.ok((await page.title()).startsWith('错误：'), 'title does not start with 错误：');
      await audit(t, page, vp, state('errors'));
    });
    await check(`${vp} ${id}: errors found by the server (as without JavaScript)`, async (t) => {
      // form.submit() skips the page's script, as a browser without JavaScript would.
      await Promise.all([page.waitForURL(`**/api/forms/${id}`), page.evaluate(() => document.querySelector('form[data-form]').submit())]);
      await page.locator('#error-summary').waitFor();
      t.ok((await focused(page)).id === 'error-summary', 'focus is not on the error summary after the server answered');
      const hrefs = await page.locator('#error-summary a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      for (const href of hrefs) t.ok((await page.locator(href).count()) === 1, `summary link ${href} points at nothing`);
      await audit(t, page, vp, state('errors-server'));
    });
    await check(`${vp} ${id}: review page`, async (t) => {
      const values = exampleValues(def);
      await fillForm(page, def, values);
      await pressNext(page, vp);
      // The error page was at the same address: wait for the review page's heading.
      await page.locator('h1', { hasText: '核对信息' }).waitFor();
      const shown = await page.locator('.review__value').allTextContents();
      for (const f of fieldsOf(def)) {
        const v = values[f.name];
        if (v !== undefined) t.ok(shown.some((s) => s.includes(v)), `review page does not show ${f.label}: ${v}`);
      }
      await audit(t, page, vp, state('review'));
    });
    let reference = null;
    await check(`${vp} ${id}: confirmation`, async (t) => {
      await click(vp, page.locator('button[value="submit"]'));
      await waitForUrl(page, /\/api\/receipts\/[^/?]+\?new=1$/);
      reference = (await page.locator('.panel--confirmation .reference').innerText()).trim();
      must(REFERENCE.test(reference), `reference ${reference} is not in the XXXX-XXXX-XXXX form`);
      t.ok(page.url().includes(`/api/receipts/${reference}?new=1`), `confirmation URL ${page.url()} does not carry ${reference}`);
      const values = exampleValues(def);
      submitted.push({ form: id, reference, expect: Object.values(values).filter((v) => typeof v === 'string' && v.length > 3).slice(0, 4), channel: '网上自助' });
      await audit(t, page, vp, state('confirmation'));
    });
    await check(`${vp} ${id}: receipt`, async (t) => {
      must(reference, 'no reference from the confirmation');
      await page.goto(`/api/receipts/${reference}`);
      t.ok((await page.locator('h1').textContent()).includes('受理回执'), 'no receipt heading');
      const text = await page.locator('main').innerText();
      for (const f of fieldsOf(def).filter((x) => x.personal && x.type === 'id_number')) {
        const v = exampleValues(def)[f.name];
        if (v) {
          t.ok(!text.includes(v), `receipt shows the full ID number ${v}`);
          t.ok(text.includes(v.slice(0, 6) + '*'.repeat(8) + v.slice(-4)), `receipt does not show the masked ID of ${v}`);
        }
      }
      await jsonReceipt(t, context, reference);
      await audit(t, page, vp, state('receipt'));
    });
  } finally {
    await page.close();
  }
}

/** Extra states: annual pay's exempt page and the staff route's reason box. */
async function extraStates(context, vp, defs) {
  const page = await context.newPage();
  try {
    const pay = defs.find((d) => d.id === 'annual-pay');
    if (pay) {
      await check(`${vp} annual-pay: exempt unit (机关)`, async (t) => {
        stats.states.add('annual-pay:exempt');
        await page.goto('/forms/annual-pay/');
        await fillForm(page, pay, exampleValues(pay, { unit_type: '机关' }));
        await pressNext(page, vp);
        await waitForUrl(page, /\/api\/forms\/annual-pay$/);
        t.ok((await page.locator('h1').textContent()).includes('无需填报'), 'a 机关 is not told it need not file');
        await audit(t, page, vp, 'form-annual-pay-exempt');
      });
    }
    const staff = defs.find((d) => d.id === 'staff-filing');
    if (staff) {
      await check(`${vp} staff-filing at a 12333/office desk: code accepted with a reason`, async (t) => {
        stats.states.add('staff-filing:staff-reason');
        stats.states.add('staff-filing:staff-review');
        await page.goto('/forms/staff-filing/');
        // Office staff use the same form posted to the staff route (API Gateway signs them in).
        await page.evaluate(() => {
          document.querySelector('form[data-form]').action = '/api/staff/forms/staff-filing';
        });
        const values = exampleValues(staff, { unit_code: '91150100MA0R1B2C8A', 'staff[0].name': '李四', 'staff[0].id_number': '150203199207089983', 'staff[0].sex': '女', 'staff[0].birth_date': '1992-07-08' });
        await fillForm(page, staff, values);
        // The staff form is the server's answer on the staff route: the first post goes there
        // directly (the page's own check would stop a wrong check character before it).
        await Promise.all([page.waitForURL('**/api/staff/forms/staff-filing'), page.evaluate(() => document.querySelector('form[data-form]').submit())]);
        const reason = page.locator('#f-unit_code-override');
        must(await reason.count(), 'no reason box under the failing credit code on the staff page');
        await audit(t, page, vp, 'form-staff-filing-staff-reason');
        await reason.fill('与营业执照原件核对一致');
        await pressNext(page, vp);
        await page.locator('h1', { hasText: '核对信息' }).waitFor();
        must((await page.locator('h1').textContent()).includes('核对信息'), 'the reason did not lead to the review page');
        t.ok((await page.locator('main').innerText()).includes('与营业执照原件核对一致'), 'review page does not show the reason');
        await audit(t, page, vp, 'form-staff-filing-staff-review');
        await click(vp, page.locator('button[value="submit"]'));
        await waitForUrl(page, /\/api\/receipts\/[^/?]+\?new=1$/);
        const reference = (await page.locator('.reference').first().textContent()).trim();
        must(REFERENCE.test(reference), `reference ${reference}`);
        t.ok((await page.locator('main').innerText()).includes('窗口代录'), 'confirmation does not say 窗口代录');
        // The export has no column for the reason (it is kept in the stored record): the review
        // page above showed it.
        submitted.push({ form: 'staff-filing', reference, expect: ['150203199207089983', STAFF.agency, STAFF.handler], channel: '窗口代录' });
      });
    }
  } finally {
    await page.close();
  }
}

// --- bulk filing by spreadsheet upload ------------------------------------------------------

// The template's columns, three people who satisfy every rule and the unit: the same values as
// tests/upload_bulk_filing.rs (HEADER, PEOPLE, UNIT).
const UPLOAD_HEADER = '姓名,公民身份号码,性别,出生日期,民族,文化程度,户口性质,联系电话,用工形式,合同类型,合同起始日期,合同终止日期,岗位（工种）,月工资（元）,备案类型,终止（解除）日期,终止（解除）原因';
const UPLOAD_PEOPLE = [
  '张三,150102198503159994,男,1985-03-15,汉族,大学本科,城镇,13800000000,全日制,固定期限,2026-01-01,2028-12-31,软件工程师,6500,新签,,',
  '李娜,150203199207089983,女,1992-07-08,蒙古族,大学专科,农村,13900000000,全日制,无固定期限,2025-03-01,,会计,5200,新签,,',
  '娜仁·其其格,15060219900101990X,女,1990-01-01,蒙古族,高中,城镇,0471-6945364,非全日制,以完成一定工作任务为期限,2026-02-01,,保洁员,2200,新签,,',
];
const UPLOAD_UNIT = {
  unit_name: '内蒙古某某科技有限公司',
  unit_code: '91150100MA0R1B2C8F',
  unit_type: '企业',
  industry: '软件和信息技术服务业',
  division_code: '150102',
  contact_name: '王芳',
  contact_phone: '0471-6945364',
};
// The unit's mistakes: no name, a credit code whose check character is wrong.
const UPLOAD_UNIT_BAD = { ...UPLOAD_UNIT, unit_name: '', unit_code: '91150100MA0R1B2C8A' };
const UPLOAD_PATH = '/api/forms/staff-filing/upload';

function uploadCsv(rows) {
  return Buffer.from(`${UPLOAD_HEADER}\r\n${rows.map((r) => `${r}\r\n`).join('')}`, 'utf8');
}

// Sheet mistakes: the first person's ID number has a wrong check digit (…9990 for …9994), the
// second person's phone has 7 digits. The header is the sheet's row 1, so they are rows 2 and 3.
const UPLOAD_MISTAKES = {
  file: uploadCsv([UPLOAD_PEOPLE[0].replace('150102198503159994', '150102198503159990'), UPLOAD_PEOPLE[1].replace(',13900000000,', ',1390000,'), UPLOAD_PEOPLE[2]]),
  problems: [
    { row: 2, column: '公民身份号码' },
    { row: 3, column: '联系电话' },
  ],
};

// A clean file is stored once: the same bytes again are "已经保存过". Each clean upload of the
// suite therefore sends the three people in another order (n = 0, 1, 2, …: six orders).
const ORDERS = [[0, 1, 2], [1, 2, 0], [2, 0, 1], [0, 2, 1], [1, 0, 2], [2, 1, 0]];
let cleanUploads = 0;
function cleanFile() {
  const order = ORDERS[cleanUploads++ % ORDERS.length];
  return uploadCsv(order.map((i) => UPLOAD_PEOPLE[i]));
}
const personId = (row) => row.split(',')[1];
const maskedId = (id) => `${id.slice(0, 6)}********${id.slice(-4)}`;

/** The upload form's own fields: the form's fieldsets without its rows. */
const unitDef = (def) => ({ ...def, groups: [] });

async function chooseFile(page, buffer) {
  await page.setInputFiles('#f-file', { name: '职工名单.csv', mimeType: 'text/csv', buffer });
}

/**
 * Presses 上传并检查 (or Enter, with `press`) and waits for the answer's page to load; gives the
 * status of the POST (422 report, 303 to the receipt, 200 already stored).
 */
async function submitUpload(page, press) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === UPLOAD_PATH),
    page.waitForEvent('load'),
    press(),
  ]);
  stats.uploads++;
  return response.status();
}

/** The report of a file with mistakes: counts, each problem by row and column, the marked copy. */
async function checkReport(t, page, mistakes) {
  const report = page.locator('section.upload-report');
  must(await report.count(), 'no upload report (section.upload-report) on the page');
  t.ok((await report.locator('h2').innerText()).includes('没有保存任何记录'), 'report heading does not say nothing was saved');
  const rows = await report.locator('table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.innerText.trim())));
  t.ok(rows.length === mistakes.problems.length, `report lists ${rows.length} problems, want ${mistakes.problems.length}: ${JSON.stringify(rows)}`);
  for (const p of mistakes.problems) {
    const row = rows.find((r) => r[0] === `第 ${p.row} 行`);
    if (t.ok(row, `report table does not name 第 ${p.row} 行`)) {
      t.ok(row[1] === p.column, `第 ${p.row} 行 is reported in column "${row[1]}", not ${p.column}`);
      t.ok(row[2] && row[2].length > 4, `第 ${p.row} 行 has no fix: "${row[2]}"`);
    }
  }
  const copy = report.locator('a[download][href^="data:application/vnd.openxmlformats-officedocument.spreadsheetml.sheet;base64,"]');
  t.ok((await copy.count()) === 1, 'no download link for the marked copy (下载标出问题的表格)');
  t.ok((await page.title()).startsWith('错误：'), 'title of the report page does not start with 错误：');
  return copy;
}

/** The batch receipt right after a clean upload: people masked, each with a reference. */
async function checkBatchReceipt(t, page, file) {
  await page.waitForURL(/\/api\/receipts\/[^/?]+\?new=1$/);
  t.ok((await page.locator('h1').innerText()).includes('上传成功'), 'batch receipt has no 上传成功 heading');
  const reference = (await page.locator('.panel--confirmation .reference').innerText()).trim();
  must(REFERENCE.test(reference), `batch reference "${reference}" is not XXXX-XXXX-XXXX`);
  const text = await page.locator('main').innerText();
  const people = file.toString('utf8').trim().split('\r\n').slice(1);
  t.ok(text.includes(`已受理，${people.length} 名职工全部保存`), `receipt does not say all ${people.length} are saved`);
  const rows = await page.locator('main table tbody tr').evaluateAll((trs) => trs.map((tr) => ({ who: tr.cells[1].innerText, ref: tr.cells[2].innerText.trim(), href: tr.cells[2].querySelector('a')?.getAttribute('href') })));
  t.ok(rows.length === people.length, `receipt lists ${rows.length} people, the file has ${people.length}`);
  const persons = [];
  for (const [n, person] of people.entries()) {
    const id = personId(person);
    t.ok(!text.includes(id), `batch receipt shows the whole ID number ${id}`);
    const row = rows[n];
    if (!t.ok(row && row.who.includes(maskedId(id)), `row ${n + 1} of the receipt does not show ${maskedId(id)}: ${row && row.who}`)) continue;
    t.ok(REFERENCE.test(row.ref) && row.ref !== reference, `row ${n + 1} has no reference of its own: ${row.ref}`);
    t.ok(row.href === `/api/receipts/${row.ref}`, `row ${n + 1} links to ${row.href}`);
    persons.push({ reference: row.ref, id });
  }
  return { reference, persons };
}

/** The people of a stored batch go into the export check, one staff-filing record each. */
function recordUploaded(persons) {
  stats.batches++;
  for (const p of persons) submitted.push({ form: 'staff-filing', reference: p.reference, expect: [UPLOAD_UNIT.unit_name, p.id], channel: '网上自助', uploaded: true });
}

/** The upload page's states in one viewport: each audited and photographed. */
async function uploadStates(context, vp, def) {
  const page = await context.newPage();
  const state = (s) => {
    stats.states.add(`staff-filing:upload-${s}`);
    return `form-staff-filing-upload-${s}`;
  };
  const press = () => click(vp, page.locator('form[data-upload] button[type="submit"]'));
  try {
    await check(`${vp} staff-filing upload: empty page`, async (t) => {
      await page.goto('/forms/staff-filing/upload/');
      must(await page.locator('form[data-upload="staff-filing"]').count(), 'no upload form on the page');
      t.ok((await page.locator('form[data-upload]').getAttribute('enctype')) === 'multipart/form-data', 'upload form is not multipart/form-data');
      t.ok((await page.locator('#f-file[type="file"]').count()) === 1, 'no file box #f-file');
      await audit(t, page, vp, state('empty'), { walk: false });
    });
    await check(`${vp} staff-filing upload: unit mistakes and sheet mistakes`, async (t) => {
      await fillForm(page, unitDef(def), UPLOAD_UNIT_BAD);
      await chooseFile(page, UPLOAD_MISTAKES.file);
      const status = await submitUpload(page, press);
      t.ok(status === 422, `a file with mistakes answered ${status}, not 422`);
      await page.locator('#error-summary').waitFor();
      t.ok((await focused(page)).id === 'error-summary', 'focus is not on the error summary');
      const hrefs = await page.locator('#error-summary a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      for (const id of ['#f-unit_name', '#f-unit_code']) t.ok(hrefs.includes(id), `error summary has no link to ${id} (has ${hrefs.join(' ')})`);
      await checkReport(t, page, UPLOAD_MISTAKES);
      await audit(t, page, vp, state('errors'));
    });
    await check(`${vp} staff-filing upload: report of a file with mistakes`, async (t) => {
      await fillForm(page, unitDef(def), UPLOAD_UNIT);
      await chooseFile(page, UPLOAD_MISTAKES.file);
      const status = await submitUpload(page, press);
      t.ok(status === 422, `a file with mistakes answered ${status}, not 422`);
      await checkReport(t, page, UPLOAD_MISTAKES);
      t.ok((await page.locator('#error-summary').count()) === 0, 'an error summary with the unit fields right');
      t.ok((await focused(page)).id === 'upload-report', 'with only the file wrong, the focus is not on the report');
      const kept = await page.evaluate(() => Object.fromEntries([...new FormData(document.querySelector('form[data-upload]'))].filter(([, v]) => typeof v === 'string')));
      for (const [name, value] of Object.entries(UPLOAD_UNIT)) t.ok(kept[name] === value, `the report page kept ${name} as "${kept[name]}", typed "${value}"`);
      await audit(t, page, vp, state('report'));
    });
    let batch = null;
    const file = cleanFile();
    await check(`${vp} staff-filing upload: batch receipt after a clean file`, async (t) => {
      await chooseFile(page, file);
      const status = await submitUpload(page, press);
      t.ok(status === 303, `a clean file answered ${status}, not 303`);
      batch = await checkBatchReceipt(t, page, file);
      recordUploaded(batch.persons);
      await jsonReceipt(t, context, batch.reference);
      await audit(t, page, vp, state('receipt'));
    });
    await check(`${vp} staff-filing upload: the same file again (已经保存过)`, async (t) => {
      must(batch, 'no batch from the clean upload');
      await page.goto('/forms/staff-filing/upload/');
      await fillForm(page, unitDef(def), UPLOAD_UNIT);
      await chooseFile(page, file);
      const status = await submitUpload(page, press);
      t.ok(status === 200, `the same file again answered ${status}, not 200`);
      t.ok((await page.locator('h1').innerText()).includes('这个文件已经保存过'), 'no 这个文件已经保存过 heading');
      t.ok((await page.locator('main').innerText()).includes(batch.reference), `the page does not name the batch ${batch.reference}`);
      t.ok((await page.locator(`a[href="/api/receipts/${batch.reference}"]`).count()) === 1, 'no link to the batch receipt');
      await audit(t, page, vp, state('duplicate'));
    });
  } finally {
    await page.close();
  }
}

/** An employer's upload: from the form page to the upload page, mistakes, the report, the marked copy, then a clean file. */
async function uploadJourney(context, def) {
  const page = await context.newPage();
  const press = () => page.locator('form[data-upload] button[type="submit"]').click();
  try {
    await check('desktop upload journey: form page, upload page, unit and sheet mistakes, report, marked copy, corrections, clean file, batch receipt, a person\'s receipt', async (t) => {
      await page.goto('/forms/staff-filing/');
      await page.locator('main').getByRole('link', { name: /在上传页面/ }).click();
      await page.waitForURL(/\/forms\/staff-filing\/upload\/$/);
      await fillForm(page, unitDef(def), UPLOAD_UNIT_BAD);
      await chooseFile(page, UPLOAD_MISTAKES.file);
      await submitUpload(page, press);
      await page.locator('#error-summary').waitFor();
      let f = await focused(page);
      t.ok(f.id === 'error-summary', `after uploading with unit mistakes focus is on ${f.tag}#${f.id}, not the error summary`);
      const copy = await checkReport(t, page, UPLOAD_MISTAKES);
      // the marked copy downloads as a workbook
      const [download] = await Promise.all([page.waitForEvent('download'), copy.click()]);
      await checkDownload(t, download);
      // a summary link takes the person to the unit's field
      await page.locator('#error-summary a[href="#f-unit_code"]').click();
      f = await focused(page);
      t.ok(f.id === 'f-unit_code', `summary link focused ${f.tag}#${f.id}, not the credit code box`);
      await fillForm(page, unitDef(def), UPLOAD_UNIT);
      const file = cleanFile();
      await chooseFile(page, file);
      const status = await submitUpload(page, press);
      t.ok(status === 303, `the clean file answered ${status}, not 303`);
      const batch = await checkBatchReceipt(t, page, file);
      recordUploaded(batch.persons);
      // one person's own receipt, masked
      const first = batch.persons[0];
      if (first) {
        await page.locator(`main a[href="/api/receipts/${first.reference}"]`).click();
        await page.waitForURL(new RegExp(`/api/receipts/${first.reference}$`));
        const text = await page.locator('main').innerText();
        t.ok(text.includes(first.reference), `a person's receipt does not show ${first.reference}`);
        t.ok(text.includes(maskedId(first.id)) && !text.includes(first.id), `a person's receipt does not mask the ID as ${maskedId(first.id)}`);
      }
    });
  } finally {
    await page.close();
  }
}

async function uploadKeyboardJourney(context, def) {
  const page = await context.newPage();
  const order = await dateOrder(context);
  const unit = unitDef(def);
  // Native file dialogs cannot be driven: Tab to the file box, then give it the file.
  const chooseByKeyboard = async (buffer) => {
    await tabTo(page, byId('f-file'));
    await chooseFile(page, buffer);
  };
  const pressEnter = async () => {
    await tabTo(page, byText('button', /^上传并检查$/));
    await page.keyboard.press('Enter');
  };
  try {
    await check('keyboard only: upload with unit mistakes, error summary, summary link, corrections, clean file, batch receipt', async (t) => {
      await page.goto('/forms/staff-filing/upload/');
      await keyboardFill(page, unit, Object.fromEntries(Object.entries(UPLOAD_UNIT_BAD).filter(([, v]) => v !== '')), order);
      await chooseByKeyboard(UPLOAD_MISTAKES.file);
      const status = await submitUpload(page, pressEnter);
      t.ok(status === 422, `a file with mistakes answered ${status}, not 422`);
      await page.locator('#error-summary').waitFor();
      let f = await focused(page);
      t.ok(f.id === 'error-summary', `after uploading with unit mistakes focus is on ${f.tag}#${f.id}, not the error summary`);
      await checkReport(t, page, UPLOAD_MISTAKES);
      await tabTo(page, byHref('#f-unit_name'), { max: 10 });
      await page.keyboard.press('Enter');
      f = await focused(page);
      t.ok(f.id === 'f-unit_name', `summary link moved focus to ${f.tag}#${f.id}, not the unit name box`);
      await keyboardFill(page, unit, { unit_name: UPLOAD_UNIT.unit_name, unit_code: UPLOAD_UNIT.unit_code }, order);
      const file = cleanFile();
      await chooseByKeyboard(file);
      const clean = await submitUpload(page, pressEnter);
      t.ok(clean === 303, `the clean file answered ${clean}, not 303`);
      const batch = await checkBatchReceipt(t, page, file);
      recordUploaded(batch.persons);
      await jsonReceipt(t, context, batch.reference);
    });
  } finally {
    await page.close();
  }
}

// --- the newcomer's journey ----------------------------------------------------------------

// Mistakes a newcomer makes: no unit name, a credit code with a wrong check character, an ID
// number with a wrong check digit, a contract that ends before it starts.
function journeyData(def) {
  const good = exampleValues(def, {
    'staff[0].ethnicity': '蒙古族',
    'staff[0].contract_end': '2028-12-31',
  });
  const bad = {
    ...good,
    unit_name: undefined,
    unit_code: '91150100MA0R1B2C8A',
    'staff[0].id_number': '150102198503159990',
    'staff[0].contract_end': '2025-12-31',
  };
  delete bad.unit_name;
  const wrong = ['unit_name', 'unit_code', 'staff[0].id_number', 'staff[0].contract_end'];
  return { good, bad, wrong };
}

async function journeyStart(t, page, vp, nav) {
  await page.goto('/');
  t.ok((await page.locator('h1').textContent()).includes('劳动用工备案'), 'home page has no 劳动用工备案 heading');
  // the guide and a flowchart
  await nav('办事指南', /\/guide\/$/);
  await nav(/网上自助办理/, /\/guide\/online\/$/, 'main');
  const chart = page.locator('figure.flowchart svg[role="img"]').first();
  must(await chart.count(), 'no flowchart on the online guide');
  const name = await chart.evaluate((svg) => (svg.getAttribute('aria-labelledby') || '').split(' ').map((id) => document.getElementById(id)?.textContent || '').join(' '));
  t.ok(/流程图/.test(name), `flowchart has no text name: ${name}`);
  const steps = await page.locator('figure.flowchart').first().locator('g.flowchart__step').count();
  const words = await page.locator('figure.flowchart').first().locator('.flowchart__text li').count();
  t.ok(steps > 0 && steps === words, `flowchart has ${steps} steps but ${words} in its text version`);
  // a download
  await nav('表格下载', /\/downloads\/$/);
}

async function checkDownload(t, download) {
  const file = await download.path();
  const bytes = fs.readFileSync(file);
  t.ok(download.suggestedFilename().endsWith('.xlsx'), `download is named ${download.suggestedFilename()}`);
  t.ok(bytes.length > 1000 && bytes.subarray(0, 4).toString('latin1') === 'PK\u0003\u0004', `download is not an XLSX workbook (${bytes.length} bytes)`);
}

async function checkErrors(t, page, wrong) {
  await page.locator('#error-summary').waitFor();
  const f = await focused(page);
  t.ok(f.id === 'error-summary', `after submitting with mistakes focus is on ${f.tag}#${f.id}, not the error summary`);
  const hrefs = await page.locator('#error-summary a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  for (const name of wrong) {
    const id = '#' + fieldsIdOf(name);
    t.ok(hrefs.includes(id), `error summary has no link to ${id} (has ${hrefs.join(' ')})`);
  }
  const count = await page.locator('.field__error').count();
  t.ok(count === hrefs.length, `${hrefs.length} errors in the summary but ${count} beside the fields`);
  t.ok((await page.locator('#error-summary-title').textContent()).includes(String(hrefs.length)), 'summary title does not count the errors');
  t.ok((await page.title()).startsWith('错误：'), 'title does not start with 错误：');
}

function fieldsIdOf(name) {
  return 'f-' + name.replace(/[[.]/g, '-').replace(/]/g, '');
}

async function checkReview(t, page, good) {
  await page.locator('h1', { hasText: '核对信息' }).waitFor();
  const shown = await page.locator('.review__value').allTextContents();
  for (const v of [good.unit_name, good.unit_code, good['staff[0].id_number'], good['staff[0].ethnicity'], good['staff[0].contract_end']]) {
    t.ok(shown.includes(v), `review page does not show ${v}`);
  }
}

async function checkConfirmation(t, page) {
  await page.waitForURL(/\/api\/receipts\/[^/?]+\?new=1$/);
  const reference = (await page.locator('.panel--confirmation .reference').textContent()).trim();
  must(REFERENCE.test(reference), `reference "${reference}" is not 12 characters as XXXX-XXXX-XXXX`);
  t.ok((await page.locator('h1').textContent()).includes('提交成功'), 'confirmation has no 提交成功 heading');
  return reference;
}

async function checkReceipt(t, page, reference, good) {
  await page.waitForURL(new RegExp(`/api/receipts/${reference}$`));
  t.ok((await page.locator('h1').textContent()).includes('受理回执'), 'no 受理回执 heading');
  const text = await page.locator('main').innerText();
  const id = good['staff[0].id_number'];
  t.ok(text.includes(reference), 'receipt does not show its reference');
  t.ok(text.includes(`${id.slice(0, 6)}********${id.slice(-4)}`), `receipt does not show the ID masked as ${id.slice(0, 6)}********${id.slice(-4)}`);
  t.ok(!text.includes(id), 'receipt shows the whole ID number');
  t.ok(text.includes('张*') && !text.includes('张三'), 'receipt does not mask the name as 张*');
}

async function journey(context, vp, def) {
  const page = await context.newPage();
  const { good, bad, wrong } = journeyData(def);
  const nav = async (name, url, scope = 'nav') => {
    const link = page.locator(scope === 'nav' ? 'nav.site-nav' : 'main').getByRole('link', { name }).first();
    await click(vp, link);
    await page.waitForURL(url);
  };
  try {
    await check(`${vp} journey: home, guide, flowchart, download, form with mistakes, corrections, review, submit, confirmation, receipt`, async (t) => {
      await journeyStart(t, page, vp, nav);
      const [download] = await Promise.all([page.waitForEvent('download'), click(vp, page.locator('a.download-link').first())]);
      await checkDownload(t, download);
      await nav('在线填报', /\/forms\/$/);
      await nav('劳动用工备案（人员备案）', /\/forms\/staff-filing\/$/, 'main');
      // with mistakes
      await fillForm(page, def, bad);
      await pressNext(page, vp);
      await checkErrors(t, page, wrong);
      // a summary link takes the person to the field
      await click(vp, page.locator(`#error-summary a[href="#${fieldsIdOf('staff[0].id_number')}"]`));
      const f = await focused(page);
      t.ok(f.id === fieldsIdOf('staff[0].id_number'), `summary link focused ${f.tag}#${f.id}, not the ID number box`);
      const inView = await page.locator(`#${f.id}`).evaluate((el) => {
        const r = el.getBoundingClientRect();
        return r.top >= 0 && r.bottom <= innerHeight;
      });
      t.ok(inView, 'the ID number box is not scrolled into view');
      // what was right is still there
      const kept = await formValues(page);
      for (const name of ['staff[0].name', 'staff[0].ethnicity', 'staff[0].sex', 'contact_phone']) {
        t.ok(kept[name] === bad[name], `${name} is "${kept[name]}" after the error check, typed "${bad[name]}"`);
      }
      // corrections
      for (const name of wrong) await page.fill(`#${fieldsIdOf(name)}`, good[name]);
      await pressNext(page, vp);
      await page.waitForURL(/\/api\/forms\/staff-filing$/);
      await checkReview(t, page, good);
      if (vp === 'desktop') {
        // 返回修改 brings the form back with every value, then on to the review again
        await click(vp, page.locator('button[value="edit"]'));
        await page.locator('form[data-form]').waitFor();
        const back = await formValues(page);
        for (const [name, value] of Object.entries(good)) t.ok(back[name] === value, `after 返回修改 ${name} is "${back[name]}", was "${value}"`);
        await pressNext(page, vp);
        await checkReview(t, page, good);
      }
      await click(vp, page.locator('button[value="submit"]'));
      const reference = await checkConfirmation(t, page);
      // the receipt, looked up as the person would: 在线填报 → 查询办理情况 → the reference
      await nav('在线填报', /\/forms\/$/);
      await nav('查询办理情况', /\/forms\/receipt\/$/, 'main');
      await page.fill('#reference', reference.replace(/-/g, '').toLowerCase());
      await click(vp, page.locator('form.receipt-lookup button'));
      await checkReceipt(t, page, reference, good);
      await jsonReceipt(t, context, reference);
      submitted.push({ form: 'staff-filing', reference, expect: [good.unit_name, good['staff[0].id_number'], good.unit_code, '蒙古族'], channel: '网上自助' });
    });
  } finally {
    await page.close();
  }
}

async function keyboardJourney(context, def) {
  const page = await context.newPage();
  const { good, bad, wrong } = journeyData(def);
  const order = await dateOrder(context);
  const go = async (wanted, url) => {
    await tabTo(page, wanted);
    await page.keyboard.press('Enter');
    await page.waitForURL(url);
  };
  try {
    await check(`keyboard only: the same journey with Tab, Shift+Tab, arrows, Space, Enter and typing`, async (t) => {
      await page.goto('/');
      // skip link first, and it moves the focus to the content
      await page.keyboard.press('Tab');
      let f = await focused(page);
      t.ok(/skip-link/.test(f.cls), `first Tab reaches ${f.tag} ${f.text}, not the skip link`);
      await page.keyboard.press('Enter');
      f = await focused(page);
      t.ok(f.id === 'main', `skip link moved focus to ${f.tag}#${f.id}, not <main>`);
      await go(byText('a', /^办事指南$/), /\/guide\/$/);
      await go(byHref('/guide/online/'), /\/guide\/online\/$/);
      t.ok((await page.locator('figure.flowchart').count()) > 0, 'no flowchart');
      await go(byText('a', /^表格下载$/), /\/downloads\/$/);
      await tabTo(page, (x) => /download-link/.test(x.cls));
      const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
      await checkDownload(t, download);
      await go(byText('a', /^在线填报$/), /\/forms\/$/);
      await go(byHref('/forms/staff-filing/'), /\/forms\/staff-filing\/$/);
      // fill with mistakes, then Enter in a text box submits (the page checks first)
      await keyboardFill(page, def, bad, order);
      await tabTo(page, byId(fieldsIdOf('staff[0].job')), { back: true });
      await page.keyboard.press('Enter');
      await checkErrors(t, page, wrong);
      // Tab from the summary to the link for the ID number, Enter: the box has the focus
      await tabTo(page, byHref(`#${fieldsIdOf('staff[0].id_number')}`), { max: 10 });
      await page.keyboard.press('Enter');
      f = await focused(page);
      t.ok(f.id === fieldsIdOf('staff[0].id_number'), `summary link moved focus to ${f.tag}#${f.id}`);
      const fixes = Object.fromEntries(wrong.map((name) => [name, good[name]]));
      await keyboardFill(page, def, fixes, order);
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/api\/forms\/staff-filing$/);
      await checkReview(t, page, good);
      await tabTo(page, byText('button', /确认提交/));
      await page.keyboard.press('Space');
      const reference = await checkConfirmation(t, page);
      await go(byText('a', /^在线填报$/), /\/forms\/$/);
      await go(byHref('/forms/receipt/'), /\/forms\/receipt\/$/);
      await tabTo(page, byId('reference'));
      await page.keyboard.type(reference);
      await page.keyboard.press('Enter');
      await checkReceipt(t, page, reference, good);
      await jsonReceipt(t, context, reference);
      submitted.push({ form: 'staff-filing', reference, expect: [good.unit_name, good['staff[0].id_number']], channel: '网上自助' });
    });
  } finally {
    await page.close();
  }
}

async function noScriptJourney(context, def) {
  const page = await context.newPage();
  const { good, bad, wrong } = journeyData(def);
  try {
    await check('no JavaScript: mistakes, server error summary, rows added and removed, review, submit, receipt', async (t) => {
      await page.goto('/forms/staff-filing/');
      await fillForm(page, def, bad);
      await page.locator('form[data-form] button.button[value="review"]').click();
      await page.waitForURL(/\/api\/forms\/staff-filing$/);
      await page.locator('#error-summary').waitFor();
      const f = await focused(page);
      t.ok(f.id === 'error-summary', `without JavaScript the focus is on ${f.tag}#${f.id}, not the error summary (autofocus)`);
      const hrefs = await page.locator('#error-summary a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      for (const name of wrong) t.ok(hrefs.includes('#' + fieldsIdOf(name)), `server summary has no link to ${name}`);
      // following a link lands on the field (the browser's own fragment navigation)
      await page.locator(`#error-summary a[href="#${fieldsIdOf('staff[0].id_number')}"]`).click();
      t.ok(page.url().endsWith('#' + fieldsIdOf('staff[0].id_number')), `summary link went to ${page.url()}`);
      const kept = await formValues(page);
      for (const [name, value] of Object.entries(bad)) t.ok(kept[name] === value, `server page kept ${name} as "${kept[name]}", typed "${value}"`);
      await screenshot(page, 'desktop-nojs-form-staff-filing-errors', { scripts: false });
      // a second person, then removed again, by the buttons that post back
      await page.locator('button[value="add_row:staff"]').click();
      await page.locator('#f-staff-1-name').waitFor();
      t.ok((await page.locator('fieldset.group-row').count()) === 2, 'add row did not give two rows');
      await page.locator('button[value="remove_row:staff:1"]').click();
      await page.waitForFunction(() => !document.getElementById('f-staff-1-name'));
      for (const name of wrong) await page.fill(`#${fieldsIdOf(name)}`, good[name]);
      await page.locator('form[data-form] button.button[value="review"]').click();
      await checkReview(t, page, good);
      await page.locator('button[value="submit"]').click();
      const reference = await checkConfirmation(t, page);
      await page.goto('/forms/receipt/');
      await page.fill('#reference', reference);
      await page.locator('form.receipt-lookup button').click();
      await checkReceipt(t, page, reference, good);
      submitted.push({ form: 'staff-filing', reference, expect: [good.unit_name, good['staff[0].id_number']], channel: '网上自助' });
    });
  } finally {
    await page.close();
  }
}

// --- main ----------------------------------------------------------------------------------

async function main() {
  must(fs.existsSync(BIN), `no beian binary at ${BIN}: build it first (cargo build --bin beian) or set BEIAN_BIN`);
  must(fs.existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install chromium (tests/run.sh does)`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'beian-browser-'));
  const store = path.join(work, 'store.redb');
  const pages = builtPages(path.join(work, 'public'));
  const formIds = fs.readdirSync(path.join(repo, 'content', 'forms')).filter((f) => f.endsWith('.toml')).map((f) => f.slice(0, -5)).sort();
  const server = await startServer(store);
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // Playwright adds --headless and a fresh --user-data-dir. Without the background-networking
      // flags Chromium waits for servers it cannot reach on a closed network.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--lang=zh-CN'],
    });
    console.log(`Chromium ${browser.version()}, axe-core ${AXE_VERSION}, site at ${server.base}, ${pages.length} HTML files, forms: ${formIds.join(', ')}`);
    const defs = [];
    for (const id of formIds) {
      const r = await fetch(`${server.base}/api/forms/${id}`);
      stats.apiRequests++;
      must(r.ok, `GET /api/forms/${id} gave ${r.status}`);
      defs.push(await r.json());
    }
    const staffDef = defs.find((d) => d.id === 'staff-filing');
    must(staffDef, 'no staff-filing form');

    // 1. every page, desktop and phone
    const titles = new Map();
    for (const vp of part('pages') ? ['desktop', 'phone'] : []) {
      const context = await newContext(browser, server.base, vp);
      context.expected404 = new Set(['/no-such-page/']);
      const page = await context.newPage();
      for (const p of pages) {
        if (p.redirect) continue;
        await check(`${vp} page ${p.url}`, async (t) => {
          // The 404 page is what an address that does not exist gets.
          const url = p.url === '/404.html' ? '/no-such-page/' : p.url;
          const response = await page.goto(url);
          t.ok(response && response.status() === (url === p.url ? 200 : 404), `${url} answered ${response && response.status()}`);
          stats.pages.add(p.url);
          const facts = await audit(t, page, vp, shotName(p.url), { focusFromTop: true });
          if (vp === 'desktop') {
            if (titles.has(facts.title)) t.problem(`title "${facts.title}" is also the title of ${titles.get(facts.title)}`);
            titles.set(facts.title, p.url);
          }
        });
      }
      await context.close();
    }
    // alias pages land on their page; their own markup is checked as text
    if (part('pages')) {
      const context = await newContext(browser, server.base, 'desktop');
      const page = await context.newPage();
      await check(`alias pages (${pages.filter((p) => p.redirect).length}) redirect to their pages`, async (t) => {
        for (const p of pages.filter((x) => x.redirect)) {
          await page.goto(p.url);
          await page.waitForURL(`**${p.redirect}`);
          t.ok(stats.pages.has(p.redirect), `${p.url} leads to ${p.redirect}, which is not a checked page`);
          t.ok(/<html lang="zh-CN">/.test(p.html) && /<title>[^<]+<\/title>/.test(p.html), `${p.url} lacks lang or title`);
          stats.redirects++;
        }
      });
      await context.close();
    }
    // zoom: 400 % and 200 % of a 1280 px window
    for (const width of part('zoom') ? [320, 640] : []) {
      const context = await newContext(browser, server.base, 'desktop', { viewport: { width, height: 800 } });
      context.expected404 = new Set(['/no-such-page/']);
      const page = await context.newPage();
      await check(`no sideways scrolling at ${width} px (zoom ${Math.round(128000 / width)} %) on every page`, async (t) => {
        for (const p of pages.filter((x) => !x.redirect)) {
          await page.goto(p.url === '/404.html' ? '/no-such-page/' : p.url);
          const over = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          t.ok(over <= 1, `${p.url} scrolls sideways by ${over}px`);
        }
      });
      await context.close();
    }

    // 2. every state of every form, desktop and phone
    for (const vp of part('forms') || part('upload') ? ['desktop', 'phone'] : []) {
      const context = await newContext(browser, server.base, vp);
      if (part('forms')) {
        for (const def of defs) await formStates(context, vp, def);
        await extraStates(context, vp, defs);
      }
      await uploadStates(context, vp, staffDef);
      await context.close();
    }

    // 3. journeys
    for (const vp of part('journeys') ? ['desktop', 'phone'] : []) {
      const context = await newContext(browser, server.base, vp);
      await journey(context, vp, staffDef);
      await context.close();
    }
    if (part('journeys') || part('upload')) {
      const context = await newContext(browser, server.base, 'desktop');
      await uploadJourney(context, staffDef);
      await context.close();
    }
    if (part('keyboard') || part('upload')) {
      const context = await newContext(browser, server.base, 'desktop');
      if (part('keyboard')) await keyboardJourney(context, staffDef);
      await uploadKeyboardJourney(context, staffDef);
      await context.close();
    }
    if (part('nojs')) {
      const context = await newContext(browser, server.base, 'desktop', { javaScriptEnabled: false });
      await noScriptJourney(context, staffDef);
      await context.close();
    }
    await check('no script errors, failed requests, dialogs or pop-ups on any page', async (t) => {
      for (const p of pageProblems) t.problem(p);
    });
  } finally {
    if (browser) await browser.close();
    await stopServer(server);
  }

  // 4. the records are in the store
  const uploaded = submitted.filter((s) => s.uploaded).length;
  await check(`the store holds every submitted record (${submitted.length}, ${uploaded} of them uploaded people), as beian export shows`, async (t) => {
    const byForm = new Map();
    for (const s of submitted) byForm.set(s.form, [...(byForm.get(s.form) || []), s]);
    for (const [form, list] of byForm) {
      const out = path.join(work, `${form}.csv`);
      execFileSync(BIN, ['export', '--form', form, '--format', 'csv', '--store', store, '--output', out], { cwd: repo, stdio: 'pipe' });
      const csv = fs.readFileSync(out, 'utf8');
      for (const s of list) {
        const rows = csv.split('\n').filter((line) => line.includes(s.reference));
        if (!t.ok(rows.length > 0, `${s.reference} (${form}) is not in the export`)) continue;
        for (const want of [...s.expect, s.channel]) t.ok(rows.some((r) => r.includes(want)), `${s.reference}: exported row lacks "${want}"`);
      }
    }
  });

  // screenshots of pages that no longer exist go
  for (const file of fs.existsSync(SHOTS) && !ONLY ? fs.readdirSync(SHOTS) : []) {
    if (/\.(png|jpg)$/.test(file) && !written.has(file)) fs.rmSync(path.join(SHOTS, file));
  }
  fs.rmSync(work, { recursive: true, force: true });

  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const shotBytes = [...written].reduce((sum, f) => sum + fs.statSync(path.join(SHOTS, f)).size, 0);
  const review = [...incomplete.entries()].map(([id, n]) => `${id} ×${n}`).join(', ');
  console.log('');
  console.log(`axe-core needs-review items (not failures; SVG text contrast, ${stats.svgTexts} texts, is checked here instead): ${review || 'none'}`);
  console.log(`screenshots: ${written.size} files, ${(shotBytes / 1048576).toFixed(1)} MB in tests/screenshots/`);
  console.log(
    `浏览器检查：${stats.pages.size} 个页面（桌面和手机各一遍）、${stats.states.size} 个表单状态、${stats.redirects} 个跳转页、` +
      `${stats.requests + stats.apiRequests} 次请求、${stats.audits} 次 axe 检查、${stats.tabStops} 个 Tab 焦点、${submitted.length} 份提交` +
      `（其中 ${uploaded} 名职工来自 ${stats.batches} 个上传保存的文件；共上传 ${stats.uploads} 次），` +
      `${stats.violations} 个无障碍问题，用时 ${seconds} 秒`,
  );
  if (failures.length) console.log(`failed: ${failures.join('; ')}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.error(e.stack || String(e));
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exitCode = 1;
});
