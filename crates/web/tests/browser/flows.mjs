// The web UI's main flows in a real Chromium, driven by playwright-core,
// against a real `agentd serve` whose model is the testkit's scripted fake
// (crates/cli/tests/e2e/web_ui.rs starts both and scripts the model turns this
// file expects, in order).
//
// Environment: AGENTD_URL, AGENTD_ADMIN_PASSWORD, AGENTD_WORKSPACE,
// AGENTD_TASK_REPO (a git repository for the task), AGENTD_TEST_MCP_EVERYTHING
// (an MCP server command to check from Settings),
// AGENTD_TEST_CHROMIUM (the browser), AGENTD_TEST_PLAYWRIGHT (the
// playwright-core package directory), VIEWPORT (desktop | phone),
// SCREENSHOTS (a directory outside git).
//
// Exits 0 when every flow passed; otherwise prints what failed and exits 1.

import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.AGENTD_TEST_PLAYWRIGHT);

const base = process.env.AGENTD_URL;
const viewportName = process.env.VIEWPORT || 'desktop';
const viewport = viewportName === 'phone' ? { width: 390, height: 844 } : { width: 1280, height: 860 };
const shots = join(process.env.SCREENSHOTS, viewportName);
mkdirSync(shots, { recursive: true });

// Lines from the driver (crates/cli/tests/e2e/web_ui.rs) on stdin.
const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const nextLine = async () => (await stdinLines.next()).value;

const step = (name) => console.log(`[${viewportName}] ${name}`);
const shot = (page, name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: false });

const browser = await chromium.launch({
  executablePath: process.env.AGENTD_TEST_CHROMIUM,
  args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking'],
  timeout: 60000,
});
// Stop by ourselves whatever happens.
const watchdog = setTimeout(() => { console.error('flows: overall timeout'); process.exit(2); }, 240000);

let failed = false;
let page;
try {
  const context = await browser.newContext({
    viewport,
    isMobile: viewportName === 'phone',
    hasTouch: viewportName === 'phone',
    acceptDownloads: true,
  });
  // Notifications: granted, and recorded by wrapping window.Notification;
  // the page is made to look like a background tab, where they are shown.
  await context.grantPermissions(['notifications'], { origin: base });
  await context.addInitScript(() => {
    const Real = window.Notification;
    window.__notes = [];
    class Recorded {
      constructor(title, opts = {}) {
        window.__notes.push({ title, body: opts.body });
        try { this.real = new Real(title, opts); } catch { this.real = null; }
      }
      close() { this.real?.close(); }
      static get permission() { return Real.permission; }
      static requestPermission() { return Real.requestPermission(); }
    }
    window.Notification = Recorded;
    Object.defineProperty(document, 'visibilityState', { get: () => 'hidden' });
  });
  page = await context.newPage();
  const notes = () => page.evaluate(() => window.__notes.map((n) => n.title));
  page.setDefaultTimeout(25000);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource|ERR_INTERNET_DISCONNECTED|net::/.test(m.text())) problems.push(`console: ${m.text()}`); });

  // The page itself: headers a browser relies on.
  const res = await page.goto(base + '/');
  const headers = res.headers();
  assert.match(headers['content-security-policy'], /default-src 'self'/);
  assert.match(headers['content-type'], /text\/html/);

  step('login');
  await page.getByLabel('Name').fill('admin');
  await page.getByLabel('Password').fill('wrong-password-123');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').filter({ hasText: /invalid|name or password/i }).first().waitFor();
  await shot(page, '01-login');
  await page.getByLabel('Password').fill(process.env.AGENTD_ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Sessions' }).waitFor();
  // Installable: the manifest is linked and the service worker is running.
  assert.equal(await page.getAttribute('link[rel="manifest"]', 'href'), '/manifest.webmanifest');
  assert.ok(await page.evaluate(() => navigator.serviceWorker.ready.then((r) => Boolean(r.active))));

  step('start a session');
  await page.getByRole('link', { name: 'New session' }).click();
  await page.getByLabel('Repository URL or path').fill(process.env.AGENTD_WORKSPACE);
  await page.getByLabel('Prompt').fill('Say hello and look around');
  await page.getByLabel('Permission mode').selectOption('default');
  await shot(page, '02-new-session');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/#\/s\/[0-9a-f-]+$/);
  const id = page.url().split('#/s/')[1];
  const log = page.getByRole('log', { name: 'Conversation' });

  step('text and a tool card stream in');
  await log.locator('.msg.assistant strong', { hasText: 'look' }).waitFor();
  const card = log.locator('section.tool').first();
  await card.locator('.output', { hasText: 'tool-output-line' }).waitFor();
  await card.locator('.tool-status', { hasText: 'done' }).waitFor();
  assert.match(await card.locator('.duration').textContent(), /\d+(\.\d)? m?s/);
  await page.locator('#conn[data-state="live"]').waitFor();

  step('approve a request');
  const approval = page.getByRole('group', { name: /Approve write_file/ });
  await approval.waitFor();
  assert.match(await approval.locator('.countdown').textContent(), /\d+:\d\d left/);
  await shot(page, '03-session-approval');
  await approval.getByRole('button', { name: 'Accept', exact: true }).click();
  await approval.waitFor({ state: 'detached' });
  await log.locator('.msg.assistant', { hasText: 'Approved and written.' }).waitFor();
  // The edit's diff, on its card and under "Files changed".
  await log.locator('section.tool', { hasText: 'write_file' }).locator('.diff-lines .add', { hasText: '+approved' }).waitFor();
  await page.getByText('Files changed').click();
  await page.locator('.files-changed li[data-path="approved.txt"] .diff-lines .add', { hasText: '+approved' }).waitFor();
  await page.locator('.status-slot .status', { hasText: 'idle' }).waitFor();

  step('notifications on approval and on finish');
  await page.waitForFunction(() => window.__notes.some((n) => n.title === 'Session finished'));
  assert.deepEqual((await notes()).filter((t) => t === 'Approval needed').length, 1, `${await notes()}`);

  step('cancel a long command');
  await page.getByLabel('Message').fill('run the long command');
  await page.getByRole('button', { name: 'Send' }).click();
  const long = log.locator('section.tool', { hasText: 'sleep 300' });
  await long.locator('.tool-status', { hasText: 'running' }).waitFor();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.locator('.status-slot .status', { hasText: 'cancelled' }).waitFor({ timeout: 15000 });
  await long.locator('.tool-status', { hasText: /done|failed/ }).waitFor();

  step('send a follow-up');
  await page.getByLabel('Message').fill('after cancel');
  await page.getByRole('button', { name: 'Send' }).click();
  await log.locator('.msg.assistant', { hasText: 'Follow-up answered.' }).waitFor();
  await page.locator('.status-slot .status', { hasText: 'idle' }).waitFor();
  await shot(page, '04-session-done');

  step('files: download and share');
  const files = await page.evaluate(async (sid) => (await fetch(`/api/v1/sessions/${sid}/files`)).status, id);
  if (files === 404) {
    console.log(`[${viewportName}] the files API is not on this server yet: skipped`);
  } else {
    await page.getByRole('link', { name: 'Files' }).click();
    const entry = page.locator('.entry', { hasText: 'approved.txt' });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      entry.getByRole('link', { name: 'approved.txt' }).click(),
    ]);
    const stream = await download.createReadStream();
    let body = '';
    for await (const chunk of stream) body += chunk;
    assert.equal(body.trim(), 'approved');
    await entry.getByRole('button', { name: 'Share' }).click();
    const link = page.locator('.share-link a').first();
    await link.waitFor();
    const href = await link.getAttribute('href');
    // Anyone with the link can fetch it, without the session cookie.
    const shared = await (await fetch(new URL(href, base))).text();
    assert.equal(shared.trim(), 'approved');
    await shot(page, '05-files');
    await page.goBack();
    await log.waitFor();
  }

  step('offline: queue a message, send it once on reconnect');
  await context.setOffline(true);
  await page.locator('#conn[data-state="offline"], #conn[data-state="reconnecting"]').waitFor();
  await page.getByLabel('Message').fill('offline message');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('.pending-inputs .msg', { hasText: 'offline message' }).waitFor();
  await page.locator('#outbox-badge', { hasText: '1 waiting to send' }).waitFor();
  await shot(page, '06-offline-queued');
  await context.setOffline(false);
  await log.locator('.msg.assistant', { hasText: 'Got the offline message.' }).waitFor();
  await page.locator('.pending-inputs .msg').waitFor({ state: 'detached' });
  await page.locator('#conn[data-state="live"]').waitFor();
  assert.equal(await log.locator('.msg.user', { hasText: 'offline message' }).count(), 1);
  const started = async (text) => page.evaluate(async ([sid, t]) => {
    const page = await (await fetch(`/api/v1/sessions/${sid}/events?format=json&limit=10000`)).json();
    return page.events.filter((e) => e.type === 'turn.started' && e.data.input === t).length;
  }, [id, text]);
  assert.equal(await started('offline message'), 1, 'the server ran the queued message once');

  step('server restart: the stream resumes');
  await page.locator('.status-slot .status', { hasText: 'idle' }).waitFor();
  console.log('RESTART'); // the driver kills the server and starts it again on the same port
  await page.locator('#conn[data-state="reconnecting"]').waitFor();
  await nextLine(); // RESTARTED
  await page.locator('#conn[data-state="live"]').waitFor({ timeout: 30000 });

  step('reload mid-stream');
  await page.locator('.status-slot .status', { hasText: 'idle' }).waitFor();
  await page.getByLabel('Message').fill('stream please');
  await page.getByRole('button', { name: 'Send' }).click();
  await log.locator('.msg.assistant', { hasText: 'Line 3 of the long answer' }).waitFor();
  await page.reload();
  const log2 = page.getByRole('log', { name: 'Conversation' });
  await log2.locator('.msg.assistant', { hasText: 'END-OF-LONG' }).waitFor({ timeout: 30000 });
  await page.locator('.status-slot .status', { hasText: 'idle' }).waitFor();
  const all = await log2.textContent();
  assert.equal(all.split('END-OF-LONG').length - 1, 1, 'the long answer is shown once');
  assert.equal(all.split('Line 1 of the long answer').length - 1, 1, 'no repeated start');
  assert.equal(await log2.locator('.msg.user', { hasText: 'stream please' }).count(), 1);
  assert.equal(await log2.locator('.msg.user', { hasText: 'offline message' }).count(), 1);
  assert.equal(await log2.locator('section.tool').count(), 3);
  assert.equal(await log2.locator('.msg.assistant strong', { hasText: 'look' }).count(), 1, 'Markdown is rendered');

  step('keyboard: Tab reaches every control, each with a name and a visible focus');
  await page.locator('body').click({ position: { x: 1, y: 1 } });
  const seen = [];
  for (let i = 0; i < 80; i += 1) {
    await page.keyboard.press('Tab');
    const f = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const labels = el.labels ? [...el.labels].map((l) => l.textContent).join(' ') : '';
      const name = (el.getAttribute('aria-label') || labels || el.textContent || el.getAttribute('title') || el.getAttribute('placeholder') || '').trim();
      const style = getComputedStyle(el);
      return { tag: el.tagName.toLowerCase(), name, id: el.id, outline: style.outlineStyle !== 'none' && style.outlineWidth !== '0px' };
    });
    if (!f) continue;
    if (seen.length && seen[0].tag === f.tag && seen[0].name === f.name && seen[0].id === f.id && seen.length > 5) break;
    seen.push(f);
  }
  const unnamed = seen.filter((f) => ['button', 'input', 'textarea', 'select', 'a'].includes(f.tag) && !f.name);
  assert.deepEqual(unnamed, [], 'every focusable control has an accessible name');
  const noRing = seen.filter((f) => !f.outline);
  assert.deepEqual(noRing, [], 'every focused control shows a focus ring');
  for (const name of ['Message', 'Send', 'Files', 'Log out']) {
    assert.ok(seen.some((f) => f.name === name), `Tab reaches ${name}: ${JSON.stringify(seen.map((f) => f.name))}`);
  }
  // Enter activates: the focused "Files" link opens the files page.
  await page.getByRole('link', { name: 'Files' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/files$/);
  await page.goBack();
  await log2.waitFor();

  step('a task from the new-task form');
  await page.getByRole('link', { name: 'New', exact: true }).click();
  await page.getByLabel('Kind').selectOption('task');
  await page.getByLabel('Repository URL or path').fill(process.env.AGENTD_TASK_REPO);
  await page.getByLabel('Prompt').fill('task please');
  await page.getByLabel('Open a pull request with the work').uncheck();
  assert.equal(await page.getByLabel('Permission mode').inputValue(), 'unattended');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/#\/s\/[0-9a-f-]+$/);
  await page.getByRole('log', { name: 'Conversation' }).locator('.msg.assistant', { hasText: 'Task done.' }).waitFor();
  await page.locator('.status-slot .status', { hasText: 'completed' }).waitFor();
  await page.getByRole('region', { name: 'Result' }).waitFor();

  step('steer a running turn; its budget pauses the session, which shows why and resumes');
  await page.getByRole('link', { name: 'New', exact: true }).click();
  await page.getByLabel('Repository URL or path').fill(process.env.AGENTD_WORKSPACE);
  await page.getByLabel('Prompt').fill('spend a lot');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.waitForURL(/#\/s\/[0-9a-f-]+$/);
  const log3 = page.getByRole('log', { name: 'Conversation' });
  await log3.locator('section.tool', { hasText: 'sleep 8' }).locator('.tool-status', { hasText: 'running' }).waitFor();
  await page.getByLabel('Message').fill('steer-note');
  await page.getByRole('button', { name: 'Steer' }).click();
  await log3.locator('.msg.steer', { hasText: 'steer-note' }).waitFor();
  const pausedCard = page.getByRole('region', { name: 'Paused' });
  await pausedCard.waitFor();
  await page.locator('.status-slot .status', { hasText: 'paused' }).waitFor();
  assert.match(await pausedCard.textContent(), /budget is used up: .*session/i);
  await page.locator('.note.budget').waitFor();
  await shot(page, '10-paused');
  await page.getByLabel("Raise this session's token budget to").fill('10000000');
  await pausedCard.getByRole('button', { name: 'Resume' }).click();
  await page.getByRole('log', { name: 'Conversation' }).locator('.msg.assistant', { hasText: 'Resumed after budget.' }).waitFor();
  await page.locator('.status-slot .status', { hasText: 'idle' }).waitFor();
  assert.ok(await pausedCard.isHidden());

  step('sessions list, settings and admin');
  await page.getByRole('link', { name: 'Sessions', exact: true }).click();
  const row = page.locator(`.session[data-id="${id}"]`);
  await row.locator('.status', { hasText: 'idle' }).waitFor();
  await page.getByLabel('Filter by status').selectOption('cancelled');
  await row.waitFor({ state: 'detached' });
  await page.getByLabel('Filter by status').selectOption('');
  await row.waitFor();
  await shot(page, '07-sessions');
  await page.getByRole('link', { name: 'Settings', exact: true }).click();
  await page.getByRole('heading', { name: 'Personal access tokens' }).waitFor();
  // BYOK: the key goes in, only its hint comes back.
  const anthropic = page.locator('.cred[data-provider="anthropic"]');
  await page.getByLabel('Anthropic key', { exact: true }).fill('sk-ant-test-secret-9876wxyz');
  await page.getByRole('button', { name: 'Save Anthropic key' }).click();
  await anthropic.locator('.hint', { hasText: 'wxyz' }).waitFor();
  assert.ok(!(await page.content()).includes('sk-ant-test-secret'), 'the key is never shown');
  await page.getByRole('button', { name: 'Remove Anthropic key' }).click();
  await anthropic.locator('.hint', { hasText: 'not set' }).waitFor();
  // Tokens: shown once, then revoked.
  await page.getByLabel('New token name').fill('from-the-ui');
  await page.getByRole('button', { name: 'Create token' }).click();
  await page.locator('.secret', { hasText: 'agentd_pat_' }).waitFor();
  await page.locator('.tokens li[data-name="from-the-ui"]').waitFor();
  await page.getByRole('button', { name: 'Revoke from-the-ui' }).click();
  await page.locator('.tokens li[data-name="from-the-ui"] .status', { hasText: 'revoked' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Revoke from-the-ui' }).count(), 0);
  // MCP servers: add one, check it for real, remove it.
  await page.getByLabel('Server name', { exact: true }).fill('everything');
  await page.getByLabel('Command or URL', { exact: true }).fill(`${process.env.AGENTD_TEST_MCP_EVERYTHING} stdio`);
  await page.getByRole('button', { name: 'Add server' }).click();
  const server = page.locator('.mcp-servers li[data-name="everything"]');
  await server.getByRole('button', { name: 'Check everything' }).click();
  await server.locator('.check.ok', { hasText: /OK: \d+ tools \(.*echo/ }).waitFor({ timeout: 60000 });
  await shot(page, '08-settings');
  await server.getByRole('button', { name: 'Remove everything' }).click();
  await server.waitFor({ state: 'detached' });
  // Your own usage: this run's tokens, and the limits from [limits].
  assert.match(await page.locator('.my-usage td.today').textContent(), /[1-9][\d,]* tokens/);
  assert.equal(await page.locator('.my-usage dd[data-limit="session_tokens"]').textContent(), '100,000');

  await page.getByRole('link', { name: 'Admin', exact: true }).click();
  await page.getByRole('heading', { name: 'Audit log' }).waitFor();
  // Users: create, set quotas, disable.
  await page.getByLabel('Name', { exact: true }).fill('bob');
  await page.getByLabel('Password', { exact: true }).fill('bob-password-123');
  await page.getByRole('button', { name: 'Create user' }).click();
  const bob = page.locator('.users li[data-name="bob"]');
  await bob.waitFor();
  await page.getByRole('button', { name: 'Quotas of bob' }).click();
  const quotaForm = page.getByRole('form', { name: 'Quotas of bob' });
  await quotaForm.getByLabel('Tokens per day').fill('5000');
  await quotaForm.getByRole('button', { name: 'Save quotas' }).click();
  await quotaForm.waitFor({ state: 'detached' });
  await page.locator('.usage-table tr[data-user="bob"] td.today', { hasText: '0 of 5,000 tokens' }).waitFor();
  await page.getByRole('button', { name: 'Disable bob' }).click();
  await bob.locator('.status', { hasText: 'disabled' }).waitFor();
  // The audit log, filtered, and its export links.
  await page.getByLabel('Action', { exact: true }).fill('session.cancel');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForFunction(() => [...document.querySelectorAll('.audit li')].every((li) => li.dataset.action === 'session.cancel'));
  await page.locator('.audit li[data-action="session.cancel"]').first().waitFor();
  const csvHref = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
  assert.match(csvHref, /format=csv/);
  assert.match(csvHref, /action=session.cancel/);
  const csvText = await page.evaluate(async (u) => (await fetch(u)).text(), csvHref);
  assert.match(csvText.split('\n')[0], /action/);
  assert.match(csvText, /session\.cancel/);
  assert.ok(!/user\.create/.test(csvText), 'the export is filtered too');
  assert.match(await page.getByRole('link', { name: 'Export NDJSON' }).getAttribute('href'), /format=ndjson/);
  await shot(page, '09-admin');

  step('logout; an expired session shows the login page');
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('heading', { name: 'Log in to agentd' }).waitFor();
  await page.goto(base + `/#/s/${id}`);
  await page.getByRole('heading', { name: 'Log in to agentd' }).waitFor();

  if (problems.length) throw new Error(problems.join('\n'));
  await context.close();
  step('all flows passed');
} catch (e) {
  failed = true;
  console.error(`[${viewportName}] FAILED: ${e.stack || e}`);
  if (page) await shot(page, 'failure').catch(() => {});
} finally {
  clearTimeout(watchdog);
  await browser.close().catch(() => {});
}
process.exit(failed ? 1 : 0);
