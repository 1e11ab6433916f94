#!/usr/bin/env node
// The web console in a real browser: Playwright driving Debian's Chromium headless against the real pm-mcp binary
// (started by the Rust test crates/pm-mcp/tests/e2e/console_browser.rs, which also starts the identity provider).
// Usage: node console-browser.mjs CONFIG.json
//   CONFIG.json {"base", "adminLink", "bobLink", "idpLogin", "python", "pyClient", "redmine": {"url","key"}|null,
//                "screenshots", "chromium", "work"}
// Every page visited is checked with axe-core (WCAG 2.1 A and AA) and kept as a screenshot. Prints one JSON line
// {"ok": true, "checked": [...]} and exits 0, or prints what failed and exits 1.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

console.log = console.error;
const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
mkdirSync(config.screenshots, { recursive: true });
const checked = [];
// Markup an attacker controls, in every field that ends up on a page: it must show as text and never run.
const XSS = `<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>"'&`;

async function audit(page, name) {
  await page.screenshot({ path: join(config.screenshots, `${name}.png`), fullPage: true });
  await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  const problems = result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`);
  assert.deepEqual(problems, [], `accessibility problems on ${name}`);
  assert.equal(await page.evaluate(() => window.__xss), undefined, `markup ran on ${name}`);
  checked.push(name);
}

function mcpWorks(cursorConfig) {
  const file = join(config.work, `cursor-${Date.now()}.json`);
  writeFileSync(file, cursorConfig);
  try {
    execFileSync(config.python, [config.pyClient, file, 'legacy'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

const browser = await chromium.launch({ executablePath: config.chromium, args: ['--no-sandbox'] });
try {
  // The axe script is injected into the page, which the console's CSP (rightly) forbids: checks run beside it.
  const admin = await browser.newContext({ bypassCSP: true });
  const page = await admin.newPage();
  page.on('dialog', (d) => d.accept());

  // Signing in by a one-time link: its page, then the button.
  await page.goto(config.adminLink);
  await audit(page, 'sign-in-link');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/console/keys');
  await audit(page, 'keys');

  // A key made in the page, its Cursor config used at once by the official Python SDK.
  await page.getByLabel('Name').fill(XSS);
  await page.getByRole('button', { name: 'Make the key' }).click();
  await page.locator('#new-key').waitFor();
  const key = (await page.locator('#new-key').textContent()).trim();
  assert.match(key, /^pmcp_/);
  const cursorConfig = await page.locator('#cfg-cursor').textContent();
  assert.ok(cursorConfig.includes(key));
  assert.ok(await page.getByRole('link', { name: 'Add to Cursor' }).getAttribute('href').then((h) => h.startsWith('cursor://')));
  assert.ok(await page.getByRole('link', { name: 'Add to VS Code' }).getAttribute('href').then((h) => h.startsWith('vscode:mcp/install?')));
  await audit(page, 'new-key');
  assert.ok(mcpWorks(cursorConfig), 'the Python SDK could not use the key the console made');

  // The key's name is text everywhere it shows.
  await page.goto(`${config.base}/console/keys`);
  await page.getByText(XSS, { exact: true }).first().waitFor();

  // A tracker: a wrong token is refused in words and nothing is stored; the right one is tested and added.
  await page.goto(`${config.base}/console/trackers`);
  await audit(page, 'trackers-empty');
  if (config.redmine) {
    await page.getByLabel('Tracker').selectOption('redmine');
    await page.getByLabel(/^Address/).fill(config.redmine.url);
    await page.getByLabel('Token or API key').fill('0000000000000000000000000000000000000000');
    await page.getByRole('button', { name: 'Test and add' }).click();
    await page.getByRole('alert').filter({ hasText: 'Nothing was stored' }).waitFor();
    await audit(page, 'trackers-refused');
    await page.getByLabel('Tracker').selectOption('redmine');
    await page.getByLabel(/^Address/).fill(config.redmine.url);
    await page.getByLabel('Token or API key').fill(config.redmine.key);
    await page.getByRole('button', { name: 'Test and add' }).click();
    await page.getByRole('status').filter({ hasText: 'was tested and added. Connected as' }).waitFor();
    await page.getByRole('button', { name: /^Test now/ }).first().click();
    await page.getByRole('status').filter({ hasText: 'Connected as' }).waitFor();
    await audit(page, 'trackers');
  }

  // Revoked in the page: the next MCP call with it is refused.
  await page.goto(`${config.base}/console/keys`);
  await page.getByRole('button', { name: `Revoke ${XSS}` }).click();
  await page.getByRole('status').filter({ hasText: 'The key was revoked' }).waitFor();
  assert.ok(!mcpWorks(cursorConfig), 'a revoked key still worked');

  await page.goto(`${config.base}/console/activity?period=1h`);
  await page.getByText('console.revoke_key').first().waitFor();
  await audit(page, 'activity');

  // Administration: a user added with a hostile name; Bob's open session ends when he is disabled.
  await page.goto(`${config.base}/console/admin/users`);
  await page.getByLabel('E-mail').fill('mallory@acme.org');
  await page.getByLabel(/^Name/).fill(XSS);
  await page.getByRole('button', { name: 'Add the user' }).click();
  await page.getByText(XSS, { exact: true }).first().waitFor();
  await audit(page, 'admin-users');

  const bobContext = await browser.newContext({ bypassCSP: true });
  const bob = await bobContext.newPage();
  await bob.goto(config.bobLink);
  await bob.getByRole('button', { name: 'Sign in' }).click();
  await bob.waitForURL('**/console/keys');
  await page.getByRole('button', { name: 'Disable bob@acme.org' }).click();
  await page.getByRole('status').filter({ hasText: 'The user was changed' }).waitFor();
  await bob.goto(`${config.base}/console/trackers`);
  await bob.waitForURL('**/console/signin');
  await audit(bob, 'sign-in');

  await page.getByRole('link', { name: XSS }).click();
  await audit(page, 'admin-user');
  await page.goto(`${config.base}/console/admin/audit?period=1h`);
  await page.getByText('console.disable_user').first().waitFor();
  await audit(page, 'admin-audit');
  await page.goto(`${config.base}/console/admin/usage`);
  await audit(page, 'admin-usage');

  // Sign in with the identity provider (OpenID Connect code + PKCE), as a user it creates at first sign-in.
  const sso = await browser.newContext({ bypassCSP: true });
  const ssoPage = await sso.newPage();
  await ssoPage.goto(`${config.base}/console/signin`);
  await ssoPage.getByRole('button', { name: /^Sign in with/ }).click();
  await ssoPage.locator('input[name="login"]').fill(config.idpLogin);
  await ssoPage.locator('input[name="password"]').fill('any-password');
  await ssoPage.locator('button[type="submit"]').click();
  // The provider asks for consent the first time.
  const consent = ssoPage.locator('button[type="submit"]');
  if (await consent.count() && !ssoPage.url().startsWith(config.base)) await consent.first().click();
  await ssoPage.waitForURL('**/console/keys');
  await ssoPage.getByText(`${config.idpLogin}@acme.test`).first().waitFor();
  checked.push('sign-in-oidc');

  // Without JavaScript the forms still work: a key made with the script off.
  const plain = await browser.newContext({ javaScriptEnabled: false });
  const plainPage = await plain.newPage();
  await plainPage.goto(config.adminLink2);
  await plainPage.getByRole('button', { name: 'Sign in' }).click();
  await plainPage.waitForURL('**/console/keys');
  await plainPage.getByLabel('Name').fill('made without JavaScript');
  await plainPage.getByRole('button', { name: 'Make the key' }).click();
  await plainPage.locator('#new-key').waitFor();
  checked.push('no-javascript');

  // On a phone: nothing wider than the screen.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const phonePage = await phone.newPage();
  await phonePage.context().addCookies(await admin.cookies());
  for (const path of ['keys', 'trackers', 'activity', 'admin/users']) {
    await phonePage.goto(`${config.base}/console/${path}`);
    const overflow = await phonePage.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${path} is ${overflow}px wider than a phone`);
    await phonePage.screenshot({ path: join(config.screenshots, `phone-${path.replace('/', '-')}.png`), fullPage: true });
  }
  checked.push('phone');

  // By keyboard: the first Tab reaches "Skip to content", which moves to the page's content.
  await page.goto(`${config.base}/console/keys`);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  checked.push('keyboard');

  process.stdout.write(`${JSON.stringify({ ok: true, checked })}\n`);
} catch (e) {
  console.error(`console browser test failed: ${e.stack ?? e}`);
  process.stdout.write(`${JSON.stringify({ ok: false, checked, error: String(e.message ?? e) })}\n`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
