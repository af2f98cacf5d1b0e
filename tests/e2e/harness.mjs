// Shared pieces of the end-to-end scenarios: the server process (started and restarted here,
// PID in $E2E_VAR/server.pid for run.sh's cleanup), Chromium, users and screenshots.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.E2E_WEB_DIR, 'package.json'));
const { chromium } = require('playwright-core');

export const url = process.env.E2E_URL;
const artifacts = process.env.E2E_ARTIFACTS;
const ca = readFileSync(process.env.E2E_CA);
let server = null;

function healthy() {
  return new Promise((resolve) => {
    const req = https.get(url + '/healthz', { ca, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

export async function startServer() {
  const log = openSync(path.join(process.env.E2E_VAR, 'server.log'), 'a');
  server = spawn(process.env.E2E_SERVER_BIN, ['--config', process.env.E2E_CONFIG], {
    stdio: ['ignore', log, log],
  });
  writeFileSync(path.join(process.env.E2E_VAR, 'server.pid'), String(server.pid));
  for (let i = 0; i < 200; i++) {
    if (server.exitCode !== null) throw new Error('redoubt-server exited: ' + serverLog().slice(-2000));
    if (await healthy()) return;
    await sleep(100);
  }
  throw new Error('redoubt-server did not get healthy');
}

export async function stopServer() {
  if (!server || server.exitCode !== null) return;
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGTERM');
  await Promise.race([exited, sleep(10000)]);
  if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
}

// A page of another origin on this machine: https://127.0.0.1:<free port>/ with the dev
// certificate, so the browser's local-network checks let its requests reach our server.
export async function foreignOriginServer(html) {
  const tls = path.join(process.env.E2E_VAR, 'tls');
  const srv = https.createServer(
    { key: readFileSync(path.join(tls, 'server.key')), cert: readFileSync(path.join(tls, 'server.crt')) },
    (req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(html);
    },
  );
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `https://127.0.0.1:${srv.address().port}/`, close: () => new Promise((r) => srv.close(r)) };
}

export function serverLog() {
  return readFileSync(path.join(process.env.E2E_VAR, 'server.log'), 'utf8');
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Chromium trusts exactly the dev server certificate through its SPKI pin (certificate errors
// for anything else stay errors): TLS 1.3 with a real handshake, no blanket ignoreHTTPSErrors.
export async function launch() {
  const args = [`--ignore-certificate-errors-spki-list=${process.env.E2E_SPKI}`];
  if (process.getuid && process.getuid() === 0) args.push('--no-sandbox');
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args });
}

// A browser context with dialog and page-error tracking (XSS would show up there).
export async function openPage(browser, viewport = { width: 1200, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.dialogs = [];
  page.errors = [];
  page.on('dialog', (d) => {
    page.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('console', (m) => {
    // The sign-in page asks GET /api/v1/me first and gets 401: that one is expected.
    if (m.type() === 'error' && !/status of 401/.test(m.text())) page.errors.push(m.text());
  });
  return page;
}

export async function signUp(page, username) {
  await page.goto(url);
  await page.getByRole('tab', { name: 'Create account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Email').fill(`${username}@example.test`);
  await page.getByLabel('Password').fill('purple otter sings at dawn 42');
  await page.getByRole('button', { name: 'Create account' }).last().click();
  await page.getByRole('navigation', { name: 'Rooms and direct messages' }).waitFor();
  await online(page);
}

export async function online(page) {
  await page.locator('.conn-banner').waitFor({ state: 'detached', timeout: 20000 });
}

export async function shot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, name + '.png') });
}

export function sidebarRoom(page, name) {
  return page.getByRole('navigation').getByRole('link', { name: new RegExp(name) });
}

export async function openRoom(page, name) {
  await sidebarRoom(page, name).click();
  await page.getByRole('heading', { level: 2, name: new RegExp(name) }).waitFor();
}

export async function send(page, text) {
  const box = page.locator('.composer textarea');
  await box.fill(text);
  await box.press('Enter');
}

// Bodies of the messages shown (not pending), in order.
export async function bodies(page) {
  return page.locator('.messages li.message:not(.pending) .body').allTextContents();
}

export async function messageIds(page) {
  return page.locator('.messages li.message[data-id]').evaluateAll((els) => els.map((e) => e.dataset.id));
}
