#!/usr/bin/env node
// pm-mcp's MCP Apps in a real browser: Playwright driving Debian's Chromium headless, in a host page built on
// ext-apps' own host bridge (apps-host.js, bundled here with esbuild), fed by the real pm-mcp binary over MCP.
// Started by crates/pm-mcp/tests/e2e/apps.rs, which also checks the tracker itself afterwards.
// Usage: node apps.mjs CONFIG.json
//   CONFIG.json {"mcp": URL of pm-mcp's /mcp, "key", "readKey"|null, "chromium", "screenshots",
//                "board": {"sprint", "drag": {"task","to"}, "menu": {"task","to"}|null, "refused": {"task","to"}|null,
//                          "readOnly": {"task","to"}|null, "markup": {"task","title"}|null},
//                "charts": {"sprint"}|null}
// The page reaches pm-mcp through a proxy here that adds the key (the page never holds it). Prints one JSON line
// {"ok": true, ...what was seen} and exits 0, or prints what failed and exits 1.
import { chromium } from 'playwright-core';
import { build } from 'esbuild';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

console.log = console.error;
const here = dirname(fileURLToPath(import.meta.url));
const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
mkdirSync(config.screenshots, { recursive: true });
const seen = { views: {}, board: {}, charts: {} };

const bundle = (
  await build({
    entryPoints: [join(here, 'apps-host.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  })
).outputFiles[0].text;
const hostPage = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>pm-mcp apps test host</title></head>
<body><main><h1>MCP Apps test host</h1></main><script type="module" src="/host.js"></script></body></html>`;

// The host page and its MCP endpoint on one origin: /mcp with the read/write key, /mcp-read with the read key.
const proxy = http.createServer(async (req, res) => {
  try {
    const path = new URL(req.url, 'http://host').pathname;
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (path === '/' || path === '/host.js') {
      res.writeHead(200, { 'content-type': path === '/' ? 'text/html' : 'text/javascript' });
      res.end(path === '/' ? hostPage : bundle);
      return;
    }
    const key = { '/mcp': config.key, '/mcp-read': config.readKey }[path];
    if (!key) {
      res.writeHead(404).end();
      return;
    }
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const headers = { authorization: `Bearer ${key}` };
    for (const h of ['content-type', 'accept', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id']) {
      if (req.headers[h]) headers[h] = req.headers[h];
    }
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const up = await fetch(config.mcp, {
      method: req.method,
      headers,
      body: chunks.length ? Buffer.concat(chunks) : undefined,
      signal: abort.signal,
    });
    const out = {};
    for (const [k, v] of up.headers) if (['content-type', 'mcp-session-id', 'cache-control'].includes(k)) out[k] = v;
    res.writeHead(up.status, out);
    if (up.body) Readable.fromWeb(up.body).on('error', () => res.end()).pipe(res);
    else res.end();
  } catch (e) {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  }
});
await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${proxy.address().port}`;

const problems = [];
function watch(page) {
  page.on('console', (m) => {
    // A Content-Security-Policy violation, or any error a view or the host logs (not the GET stream a
    // stateless server declines).
    const text = m.text();
    if (m.type() === 'error' && !/Failed to load resource.*405/.test(text)) problems.push(text);
  });
  page.on('pageerror', (e) => problems.push(e.message));
}

async function hostAt(browser, endpoint) {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  watch(page);
  await page.goto(`${base}/?endpoint=${endpoint}`);
  await page.waitForFunction(() => window.pmHostReady === true);
  const connected = await page.evaluate(() => window.pmHost.connect());
  return { page, connected };
}

async function viewFrame(page, index) {
  const handle = (await page.$$('iframe[data-view]'))[index];
  return handle.contentFrame();
}

async function audit(frame, name) {
  await frame.addScriptTag({ path: axePath });
  const result = await frame.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  const found = result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`);
  assert.deepEqual(found, [], `accessibility problems in ${name}`);
}

async function message(frame, kind) {
  const box = frame.locator(`#message.${kind}`);
  await box.waitFor({ timeout: 20_000 });
  return (await box.textContent()).trim();
}

async function columnOf(frame, task) {
  const card = frame.locator(`article.card[data-task="${task}"]`);
  await card.waitFor();
  return card.evaluate((e) => ({ category: e.closest('section').dataset.category, status: e.closest('.lane').dataset.status }));
}

async function background(frame) {
  return frame.evaluate(() => getComputedStyle(document.body).backgroundColor);
}

function size(text) {
  return { bytes: Buffer.byteLength(text), gzip: gzipSync(Buffer.from(text)).length };
}

const browser = await chromium.launch({ executablePath: config.chromium, args: ['--no-sandbox'] });
try {
  const { page, connected } = await hostAt(browser, '/mcp');
  seen.linked = connected.linked;
  seen.serverUi = connected.serverUi;
  const b = config.board;

  // The board, fed by get_sprint_tasks, in the host's dark theme.
  const board = await page.evaluate(([s]) => window.pmHost.open('get_sprint_tasks', { sprint_id: s }, 'dark'), [b.sprint]);
  seen.views[board.uri] = { csp: board.csp, ui: board.ui };
  const frame = await viewFrame(page, board.index);
  await frame.locator('article.card').first().waitFor();
  // The project's vocabulary gives every status its lane, even one with no card.
  await frame.locator('#board[data-vocabulary="done"]').waitFor({ state: 'attached' });
  await frame.locator(`.lane[data-status="${b.drag.to}"]`).waitFor();
  seen.board.cards = await frame.locator('article.card').count();
  seen.board.columns = {};
  for (const cat of ['todo', 'in_progress', 'done']) {
    seen.board.columns[cat] = await frame
      .locator(`section[data-category="${cat}"] article.card`)
      .evaluateAll((cards) => cards.map((c) => c.dataset.task));
  }
  seen.board.lanes = await frame.locator('.lane').evaluateAll((l) => l.map((x) => x.dataset.status));
  seen.board.firstCard = await frame.locator('article.card').first().innerText();
  seen.board.dark = await background(frame);
  if (b.markup) {
    const title = frame.locator(`article.card[data-task="${b.markup.task}"] .title`);
    assert.equal(await title.textContent(), b.markup.title, 'a title with markup shows as text');
    assert.equal(await frame.evaluate(() => window.__xss), undefined, 'markup in a title ran');
  }
  await audit(frame, 'the sprint board');
  await page.screenshot({ path: join(config.screenshots, 'board-dark.png'), fullPage: true });

  // A drag that the workflow allows: the card moves to what the tracker answered.
  await frame.locator(`article.card[data-task="${b.drag.task}"]`).dragTo(frame.locator(`.lane[data-status="${b.drag.to}"]`));
  seen.board.dragged = await message(frame, 'ok');
  seen.board.draggedTo = await columnOf(frame, b.drag.task);

  // The same through the card's menu (the keyboard's way): arrow keys only choose, the button moves, and the
  // keyboard's focus is back on the card's menu after.
  if (b.menu) {
    const card = frame.locator(`article.card[data-task="${b.menu.task}"]`);
    const before = (await page.evaluate(() => window.pmHost.calls())).length;
    await card.locator('select').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    assert.equal((await page.evaluate(() => window.pmHost.calls())).length, before, 'arrow keys in the menu called a tool');
    await card.locator('select').selectOption(b.menu.to);
    await card.getByRole('button', { name: 'Move' }).click();
    seen.board.menu = await message(frame, 'ok');
    await frame.locator(`article.card[data-task="${b.menu.task}"]:not([aria-busy])`).waitFor();
    seen.board.menuTo = await columnOf(frame, b.menu.task);
    seen.board.focusAfterMenu = await frame.evaluate(() => {
      const a = document.activeElement;
      return a && a.closest('article') ? a.closest('article').dataset.task + ' ' + a.tagName.toLowerCase() : null;
    });
  }

  // A drag the workflow refuses: the tracker's words, and the card where it was.
  if (b.refused) {
    const before = await columnOf(frame, b.refused.task);
    await frame.locator(`article.card[data-task="${b.refused.task}"]`).dragTo(frame.locator(`.lane[data-status="${b.refused.to}"]`));
    seen.board.refused = await message(frame, 'error');
    assert.equal(await frame.locator('#message').getAttribute('role'), 'alert');
    seen.board.refusedStays = await columnOf(frame, b.refused.task);
    assert.deepEqual(seen.board.refusedStays, before, 'a refused card stays where it was');
    await page.screenshot({ path: join(config.screenshots, 'board-refused.png'), fullPage: true });
  }

  // The host's theme changes: the view follows.
  await page.evaluate(([i]) => window.pmHost.setTheme(i, 'light'), [board.index]);
  await frame.waitForFunction(() => document.documentElement.dataset.theme === 'light');
  seen.board.light = await background(frame);
  await audit(frame, 'the sprint board, light');
  await page.screenshot({ path: join(config.screenshots, 'board-light.png'), fullPage: true });
  seen.board.sizes = await page.evaluate((i) => window.pmHost.sizes(i), board.index);
  seen.board.teardown = await page.evaluate((i) => window.pmHost.teardown(i), board.index);

  // The charts, fed by burndown_chart; velocity and cumulative flow asked for from the view.
  if (config.charts) {
    const charts = await page.evaluate(([s]) => window.pmHost.open('burndown_chart', { sprint_id: s }, 'light'), [config.charts.sprint]);
    const f = await viewFrame(page, 0);
    await f.locator('#panel svg').waitFor();
    await f.locator('svg path.remaining').waitFor();
    seen.charts.burndown = {
      ideal: await f.locator('svg path.ideal').count(),
      changes: await f.locator('svg circle.change').count(),
      summary: await f.locator('#panel p.sub').first().textContent(),
    };
    const plot = f.locator('svg rect.hit');
    const box = await plot.boundingBox();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
    await f.locator('#tip').filter({ hasText: 'remaining' }).waitFor();
    seen.charts.burndown.hover = (await f.locator('#tip').textContent()).trim();
    await f.locator('svg').focus();
    await page.keyboard.press('ArrowLeft');
    seen.charts.burndown.key = (await f.locator('#tip').textContent()).trim();
    await audit(f, 'the burndown');
    await page.screenshot({ path: join(config.screenshots, 'burndown.png'), fullPage: true });

    const tall = await page.evaluate((i) => window.pmHost.sizes(i).at(-1), charts.index);
    await f.getByRole('tab', { name: 'Velocity' }).click();
    await f.locator('svg rect.completed, #message.error').first().waitFor({ state: 'attached', timeout: 20_000 });
    seen.charts.velocity = {
      bars: await f.locator('svg rect.completed').count(),
      error: await f.locator('#message.error').count(),
      summary: await f.locator('#panel p.sub').first().textContent(),
    };
    await page.screenshot({ path: join(config.screenshots, 'velocity.png'), fullPage: true });
    // The shorter view is reported shorter (a view must let its frame shrink).
    await page.waitForFunction(([i, h]) => window.pmHost.sizes(i).at(-1).height < h, [charts.index, tall.height]);
    seen.charts.sizes = { burndown: tall, velocity: await page.evaluate((i) => window.pmHost.sizes(i).at(-1), charts.index) };

    await f.getByRole('tab', { name: 'Cumulative flow' }).click();
    await f.locator('svg polygon.done, #message.error').first().waitFor({ state: 'attached', timeout: 20_000 });
    seen.charts.cfd = {
      bands: await f.locator('svg polygon').count(),
      error: await f.locator('#message.error').count(),
      summary: await f.locator('#panel p.sub').first().textContent(),
    };
    await audit(f, 'the cumulative flow');
    await page.screenshot({ path: join(config.screenshots, 'cfd.png'), fullPage: true });
    seen.views[charts.uri] = { csp: charts.csp, ui: charts.ui };
  }
  seen.calls = await page.evaluate(() => window.pmHost.calls());

  // A key that may only read: the board shows the server's refusal, and nothing moves.
  if (b.readOnly && config.readKey) {
    const reader = await hostAt(browser, '/mcp-read');
    const view = await reader.page.evaluate(([s]) => window.pmHost.open('get_sprint_tasks', { sprint_id: s }), [b.sprint]);
    const rf = await viewFrame(reader.page, view.index);
    await rf.locator(`.lane[data-status="${b.readOnly.to}"]`).waitFor();
    const before = await columnOf(rf, b.readOnly.task);
    await rf.locator(`article.card[data-task="${b.readOnly.task}"]`).dragTo(rf.locator(`.lane[data-status="${b.readOnly.to}"]`));
    seen.board.readOnly = await message(rf, 'error');
    assert.deepEqual(await columnOf(rf, b.readOnly.task), before, 'a refused card stays where it was');
  }

  // The documents themselves, as a host downloads them: what each view costs.
  for (const uri of Object.keys(seen.views)) {
    Object.assign(seen.views[uri], size(await page.evaluate((u) => window.pmHost.read(u), uri)));
  }
  assert.deepEqual(problems, [], 'errors in the host or a view');
  console.error('apps: ' + JSON.stringify(seen));
  process.stdout.write(JSON.stringify({ ok: true, ...seen }) + '\n');
} catch (e) {
  process.stdout.write(JSON.stringify({ ok: false, error: String(e && e.stack ? e.stack : e), problems, seen }) + '\n');
  process.exitCode = 1;
} finally {
  await browser.close();
  proxy.close();
}
