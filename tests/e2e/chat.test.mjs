// Two users in two browser contexts of a real Chromium against a real redoubt-server over TLS.
// Scenarios share the users and rooms and run in order; each saves screenshots.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import {
  bodies, foreignOriginServer, launch, messageIds, online, openPage, openRoom, send, serverLog, shot, sidebarRoom, signUp, sleep,
  startServer, stopServer, url,
} from './harness.mjs';

const suffix = String(process.pid % 10000);
const aliceName = 'alice' + suffix;
const bobName = 'bob' + suffix;
const room = 'project-' + suffix;
const lobby = 'lobby-' + suffix;

let browser, alice, bob;

// The newest link to `page` in an email to `to` that redoubt-worker left in the mailbox dir.
async function mailedLink(to, page) {
  const dir = path.join(process.env.E2E_VAR, 'mail');
  const pattern = new RegExp('https://\\S+' + page + '#token=[A-Za-z0-9_-]{43}');
  for (let i = 0; i < 200; i++) {
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.eml'))) {
      const text = readFileSync(path.join(dir, f), 'utf8');
      const m = pattern.exec(text);
      if (text.includes(`To: <${to}>`) && m) return m[0];
    }
    await sleep(100);
  }
  throw new Error(`no ${page} email to ${to}`);
}

function expectNoXss(page) {
  assert.deepEqual(page.dialogs, [], 'no dialog may open');
}

describe('web client end to end', { timeout: 240000 }, () => {
  before(async () => {
    await startServer();
    browser = await launch();
    alice = await openPage(browser);
    bob = await openPage(browser, { width: 1000, height: 760 });
  });

  after(async () => {
    await browser?.close();
    await stopServer();
  });

  test('1. sign up, create a private room, invite, chat both ways, reload keeps history', async () => {
    const t0 = Date.now();
    await alice.goto(url);
    await alice.getByRole('button', { name: 'Sign in' }).last().waitFor();
    console.log(`# sign-in form interactive after ${Date.now() - t0} ms`);
    await shot(alice, '01-sign-in');
    await signUp(alice, aliceName);
    await signUp(bob, bobName);

    await alice.getByRole('button', { name: '+ Create room' }).click();
    const dlg = alice.getByRole('dialog', { name: 'Create a room' });
    await dlg.getByLabel('Name').fill(room);
    await dlg.getByLabel('Topic (optional)').fill('Planning the *next* release');
    await dlg.getByLabel(/Private/).check();
    await dlg.getByRole('button', { name: 'Create' }).click();
    await alice.getByRole('heading', { level: 2, name: new RegExp(room) }).waitFor();

    // The invitee does not see a private room before the invite.
    assert.equal(await sidebarRoom(bob, room).count(), 0);
    await alice.getByRole('button', { name: 'Invite' }).click();
    const inv = alice.getByRole('dialog', { name: /Invite/ });
    await inv.getByLabel('Username').fill(bobName);
    await inv.getByRole('button', { name: 'Invite' }).click();
    await inv.waitFor({ state: 'detached' });

    await sidebarRoom(bob, room).waitFor({ timeout: 10000 });
    await openRoom(bob, room);
    await send(alice, 'Hello **bob**, welcome to the `project` room!');
    await bob.getByText('welcome to the').waitFor();
    assert.equal(await bob.locator('.messages strong', { hasText: 'bob' }).count(), 1);
    await send(bob, 'Thanks alice, glad to be here');
    await alice.getByText('glad to be here').waitFor();
    await send(alice, 'Plan: https://example.org/roadmap and see _notes_');
    await bob.getByRole('link', { name: 'https://example.org/roadmap' }).waitFor();
    assert.equal(
      await bob.getByRole('link', { name: 'https://example.org/roadmap' }).getAttribute('rel'),
      'noopener noreferrer nofollow',
    );
    await shot(alice, '02-chat-alice');
    await shot(bob, '03-chat-bob');

    await bob.reload();
    await online(bob);
    await bob.getByText('glad to be here').waitFor();
    assert.deepEqual((await bodies(bob)).map((b) => b.trim()), [
      'Hello bob, welcome to the project room!',
      'Thanks alice, glad to be here',
      'Plan: https://example.org/roadmap and see notes',
    ]);
    assert.deepEqual(bob.errors, []);
    assert.deepEqual(alice.errors, []);
  });

  test('2. XSS payloads render as text and never execute', async () => {
    const payloads = [
      '<img src=x onerror="alert(\'xss-img\')">',
      '<script>alert("xss-script")</script>',
      '[click me](javascript:alert("xss-link"))',
      '<svg onload=alert("xss-svg")>',
      '<a href="javascript:alert(1)">html link</a>',
      '[x](https://ok.example" onmouseover="alert(1))',
      '`<iframe src="javascript:alert(1)">`',
      '```\n<script>alert("in code")</script>\n```',
      '**<b onclick=alert(1)>bold</b>**',
    ];
    for (const p of payloads) await send(alice, p);
    await bob.getByText('bold</b>').waitFor();
    await bob.waitForTimeout(300);
    for (const page of [alice, bob]) {
      const messages = page.locator('.messages');
      assert.equal(await messages.locator('img, script, svg, iframe, b[onclick]').count(), 0);
      const hrefs = await messages.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      for (const h of hrefs) assert.match(h, /^(https?:|mailto:)/);
      const withHandlers = await messages.locator('*').evaluateAll(
        (els) => els.filter((e) => [...e.attributes].some((a) => a.name.startsWith('on'))).length,
      );
      assert.equal(withHandlers, 0);
      await page.getByText('<img src=x onerror="alert(\'xss-img\')">').waitFor();
      await page.getByText('[click me](javascript:alert("xss-link"))').waitFor();
      expectNoXss(page);
    }
    await shot(bob, '04-xss-as-text');
  });

  test('3. edit, delete and react', async () => {
    await send(alice, 'This has a tpyo');
    const mine = alice.locator('li.message', { hasText: 'This has a tpyo' });
    await mine.waitFor();
    await mine.hover();
    await mine.getByRole('button', { name: 'Edit' }).click();
    const edit = alice.getByRole('textbox', { name: 'Edit message' });
    await edit.fill('This had a typo');
    await edit.press('Enter');
    const bobsCopy = bob.locator('li.message', { hasText: 'This had a typo' });
    await bobsCopy.waitFor();
    await bobsCopy.getByText('(edited)').waitFor();
    assert.equal(await bob.getByText('This has a tpyo').count(), 0);

    await bobsCopy.hover();
    await bobsCopy.getByRole('button', { name: 'React' }).click();
    await bobsCopy.getByRole('button', { name: 'React with 👍' }).click();
    const chip = alice.locator('li.message', { hasText: 'This had a typo' }).getByRole('button', { name: '👍 1' });
    await chip.waitFor();
    await chip.click(); // alice adds hers
    await bobsCopy.getByRole('button', { name: '👍 2' }).waitFor();
    await shot(alice, '05-edit-react');

    await send(alice, 'Delete me please');
    const doomed = alice.locator('li.message', { hasText: 'Delete me please' });
    await doomed.hover();
    await doomed.getByRole('button', { name: 'Delete' }).click();
    await doomed.getByRole('button', { name: 'Delete for everyone' }).click();
    await bob.getByText('Delete me please').waitFor({ state: 'detached' });
    assert.ok((await bob.getByText('message deleted').count()) >= 1);
    // Bob may not delete alice's message: the button is not offered.
    await bobsCopy.hover();
    assert.equal(await bobsCopy.getByRole('button', { name: 'Delete' }).count(), 0);
  });

  test('4. scrolling up loads older pages without gaps or duplicates', async () => {
    const roomId = Number(new URL(alice.url()).pathname.split('/').pop());
    assert.ok(roomId > 0);
    // 130 messages through the API from alice's page (same origin, her cookie).
    await alice.evaluate(async (id) => {
      for (let i = 1; i <= 130; i++) {
        const res = await fetch(`/api/v1/rooms/${id}/messages`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ client_id: `seed-${id}-${i}`, body: `seed ${i}` }),
        });
        if (!res.ok) throw new Error(`seed ${i}: ${res.status}`);
      }
    }, roomId);
    await bob.getByText('seed 130', { exact: true }).waitFor();
    await bob.reload();
    await online(bob);
    await bob.getByText('seed 130', { exact: true }).waitFor();
    const firstLoad = (await bodies(bob)).filter((b) => b.startsWith('seed ')).length;
    assert.ok(firstLoad < 130, `the first page is not everything (${firstLoad})`);
    for (let i = 0; i < 30; i++) {
      if (await bob.getByText(/This is the beginning of/).count()) break;
      await bob.locator('.messages').evaluate((el) => (el.scrollTop = 0));
      await sleep(250);
    }
    await bob.getByText(/This is the beginning of/).waitFor();
    const seeds = (await bodies(bob)).filter((b) => /^seed \d+$/.test(b.trim())).map((b) => Number(b.trim().slice(5)));
    assert.deepEqual(seeds, Array.from({ length: 130 }, (_, i) => i + 1));
    const ids = await messageIds(bob);
    assert.equal(new Set(ids).size, ids.length, 'no message shown twice');
    await bob.getByText('welcome to the').waitFor();
    await shot(bob, '06-history-start');
  });

  test('5. a mention shows a badge for the other user; autocomplete completes names', async () => {
    // Bob looks at another room so the mention arrives in the background.
    await bob.getByRole('button', { name: 'Browse rooms' }).click();
    await bob.getByRole('dialog', { name: 'Browse public rooms' }).waitFor();
    await bob.keyboard.press('Escape');
    await bob.getByRole('button', { name: '+ Create room' }).click();
    const dlg = bob.getByRole('dialog', { name: 'Create a room' });
    await dlg.getByLabel('Name').fill(lobby);
    await dlg.getByRole('button', { name: 'Create' }).click();
    await bob.getByRole('heading', { level: 2, name: new RegExp(lobby) }).waitFor();

    const box = alice.locator('.composer textarea');
    await box.fill('');
    await box.pressSequentially('ping @' + bobName.slice(0, 3));
    const option = alice.getByRole('option', { name: '@' + bobName });
    await option.waitFor();
    await shot(alice, '07-mention-autocomplete');
    await box.press('Enter'); // picks the suggestion
    assert.equal(await box.inputValue(), `ping @${bobName} `);
    await box.pressSequentially('can you review?');
    await box.press('Enter');

    const badge = sidebarRoom(bob, room).locator('.mention-badge');
    await badge.waitFor();
    assert.equal(await badge.textContent(), '@1');
    await shot(bob, '08-mention-badge');
    await openRoom(bob, room);
    await badge.waitFor({ state: 'detached' });
    await bob.locator('li.message.mentioned', { hasText: 'can you review?' }).waitFor();
    // Bob joins the public lobby from alice's side too: browse and join.
    await alice.getByRole('button', { name: 'Browse rooms' }).click();
    const browse = alice.getByRole('dialog', { name: 'Browse public rooms' });
    await browse.locator('li', { hasText: lobby }).getByRole('button', { name: 'Join' }).click();
    await alice.getByRole('heading', { level: 2, name: new RegExp(lobby) }).waitFor();
    await openRoom(alice, room);
  });

  test('6. a server restart shows reconnecting, then resumes with nothing lost or doubled', async () => {
    await send(alice, 'before restart');
    await bob.getByText('before restart').waitFor();
    await stopServer();
    await alice.locator('.conn-banner', { hasText: 'Reconnecting' }).waitFor({ timeout: 15000 });
    await bob.locator('.conn-banner', { hasText: 'Reconnecting' }).waitFor({ timeout: 15000 });
    await shot(bob, '09-reconnecting');
    // Written while the server is down: kept as pending and sent after the reconnect.
    await send(alice, 'sent while offline');
    await alice.locator('li.message.pending', { hasText: 'sent while offline' }).waitFor();
    await startServer();
    await online(alice);
    await online(bob);
    await bob.getByText('sent while offline').waitFor({ timeout: 20000 });
    await send(bob, 'after restart from bob');
    await send(alice, 'after restart from alice');
    for (const page of [alice, bob]) {
      await page.getByText('after restart from bob').waitFor();
      await page.getByText('after restart from alice').waitFor();
      await page.locator('li.message.pending').waitFor({ state: 'detached' });
      const all = (await bodies(page)).map((b) => b.trim());
      for (const text of ['before restart', 'sent while offline', 'after restart from bob', 'after restart from alice']) {
        assert.equal(all.filter((b) => b === text).length, 1, `${text} exactly once`);
      }
      const ids = await messageIds(page);
      assert.equal(new Set(ids).size, ids.length);
    }
    await shot(alice, '10-resumed');
  });

  test('7. a cross-origin page cannot open the WebSocket with the user\'s cookie', async () => {
    const wsUrl = url.replace('https:', 'wss:') + '/api/v1/ws';
    const tryWs = (page) =>
      page.evaluate(
        (u) =>
          new Promise((resolve) => {
            const ws = new WebSocket(u);
            const got = [];
            ws.onmessage = (e) => got.push(String(e.data));
            ws.onopen = () => got.push('open');
            ws.onclose = (e) => resolve({ got, code: e.code });
            setTimeout(() => resolve({ got, code: 'timeout' }), 5000);
          }),
        wsUrl,
      );
    // Bob's browser (his session cookie is in this context) visits two foreign pages:
    // another origin on this machine (https://127.0.0.1:<other port>, not in the allowlist),
    // whose handshake reaches the server, so the server's Origin check refuses it (403); and
    // a public site (faked by interception), which Chromium's local-network checks stop first.
    const local = await foreignOriginServer('<!doctype html><title>evil</title>');
    try {
      for (const pageUrl of [local.url, 'https://evil.example/']) {
        const evil = await bob.context().newPage();
        if (pageUrl.includes('evil.example'))
          await evil.route(pageUrl, (r) =>
            r.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>evil</title>' }),
          );
        await evil.goto(pageUrl);
        const result = await tryWs(evil);
        assert.deepEqual(result.got, [], `${pageUrl}: the handshake must fail: ` + JSON.stringify(result));
        assert.equal(result.code, 1006);
        await evil.close();
      }
    } finally {
      await local.close();
    }
    assert.match(serverLog(), /"event":"ws_upgrade_refused"[^\n]*"status":403/);
    // From the right origin the same browser connects (and the page's own connection still works).
    const own = await tryWs(bob);
    assert.ok(own.got.includes('open') || own.code === 'timeout', JSON.stringify(own));
    await send(alice, 'still live');
    await bob.getByText('still live').waitFor();
  });

  test('8. an owner promotes a member and changes the topic; the other side follows live', async () => {
    await openRoom(alice, room);
    await openRoom(bob, room);
    // As a plain member of a private room, bob may neither invite nor set the topic.
    assert.equal(await bob.getByRole('button', { name: 'Invite' }).count(), 0);
    assert.equal(await bob.getByRole('button', { name: 'Edit topic' }).count(), 0);
    await alice.getByRole('button', { name: /^Members/ }).click();
    const members = alice.getByRole('complementary', { name: 'Members' });
    await members.getByRole('combobox', { name: `Role of ${bobName}` }).selectOption('moderator');
    await members.getByText('· moderator').waitFor();
    await bob.getByRole('button', { name: 'Invite' }).waitFor(); // role_changed reached bob
    await alice.getByRole('button', { name: 'Edit topic' }).click();
    const topic = alice.getByRole('textbox', { name: 'Topic' });
    await topic.fill('Release 1.0 on Friday');
    await topic.press('Enter');
    await bob.locator('.topic', { hasText: 'Release 1.0 on Friday' }).waitFor();
    await shot(alice, '14-members-roles');
    await alice.getByRole('button', { name: /^Members/ }).click();
  });

  test('9. phone width, settings with sessions, sign out', async () => {
    const phone = await openPage(browser, { width: 390, height: 844 });
    await phone.goto(url);
    await phone.getByRole('button', { name: 'Sign in' }).last().waitFor();
    await phone.getByLabel('Username').fill(bobName);
    await phone.getByLabel('Password').fill('purple otter sings at dawn 42');
    await phone.getByRole('button', { name: 'Sign in' }).last().click();
    await phone.getByRole('button', { name: 'Show rooms' }).waitFor();
    await online(phone);
    await shot(phone, '11-phone');
    await phone.getByRole('button', { name: 'Show rooms' }).click();
    await sidebarRoom(phone, room).click();
    await phone.getByRole('navigation').waitFor({ state: 'hidden' }); // the menu closes
    await phone.getByText('still live').waitFor();
    await shot(phone, '12-phone-room');

    // Bob's desktop session sees two sessions and revokes the phone's.
    await bob.getByRole('button', { name: 'Settings' }).click();
    const settings = bob.getByRole('dialog', { name: 'Settings' });
    await settings.getByText('this browser').waitFor();
    assert.equal(await settings.getByRole('button', { name: 'Revoke' }).count(), 1);
    await shot(bob, '13-settings');
    await settings.getByRole('button', { name: 'Revoke' }).click();
    await settings.getByRole('button', { name: 'Revoke' }).waitFor({ state: 'detached' });
    // The phone's open connection is closed by the server (4401): it shows sign-in by itself.
    await phone.getByRole('tab', { name: 'Sign in' }).waitFor({ timeout: 5000 });
    await settings.getByRole('button', { name: 'Sign out' }).click();
    await bob.getByRole('tab', { name: 'Sign in' }).waitFor();
    assert.equal(await bob.evaluate(() => fetch('/api/v1/me').then((r) => r.status)), 401);
    await phone.context().close();
  });

  test('10. email verification and password reset through the links the worker mailed', async () => {
    const carolName = 'carol' + suffix;
    const carol = await openPage(browser);
    await signUp(carol, carolName);
    await carol.getByRole('status').filter({ hasText: 'Please confirm your email address' }).waitFor();
    await shot(carol, '15-verify-banner');
    const verifyLink = await mailedLink(`${carolName}@example.test`, '/verify-email');
    await carol.goto(verifyLink);
    await carol.getByText('Your email address is confirmed.').waitFor();
    assert.ok(!carol.url().includes('token'), 'the token leaves the address bar');
    await carol.goto(url);
    await carol.getByRole('navigation', { name: 'Rooms and direct messages' }).waitFor();
    assert.equal(await carol.getByText('Please confirm your email address').count(), 0);

    // Forgot password, from a signed-out browser.
    const other = await openPage(browser);
    await other.goto(url);
    await other.getByRole('button', { name: 'Forgot password?' }).click();
    await other.getByLabel('Email').fill(`${carolName}@example.test`);
    await other.getByRole('button', { name: 'Send reset link' }).click();
    await other.getByText('If an account uses this address').waitFor();
    const resetLink = await mailedLink(`${carolName}@example.test`, '/reset-password');
    await other.goto(resetLink);
    await other.getByLabel('New password').fill('a fresh passphrase for carol 7');
    await other.getByRole('button', { name: 'Change password' }).click();
    await other.getByText('Your password is changed').waitFor();
    await shot(other, '16-password-reset');
    // Every session ended, the old one too.
    assert.equal(await carol.evaluate(() => fetch('/api/v1/me').then((r) => r.status)), 401);
    await other.goto(url);
    await other.getByLabel('Username').fill(carolName);
    await other.getByLabel('Password').fill('a fresh passphrase for carol 7');
    await other.getByRole('button', { name: 'Sign in' }).last().click();
    await other.getByRole('navigation', { name: 'Rooms and direct messages' }).waitFor();
    await carol.context().close();
    await other.context().close();
  });

  test('11. an image attached in one browser shows as a preview in the other; the download is the same bytes', async () => {
    const [aliceSeen, bobSeen] = [alice.errors.length, bob.errors.length]; // earlier scenarios restart the server
    await bob.goto(url);
    await bob.getByLabel('Username').fill(bobName);
    await bob.getByLabel('Password').fill('purple otter sings at dawn 42');
    await bob.getByRole('button', { name: 'Sign in' }).last().click();
    await online(bob);
    await openRoom(bob, room);
    await openRoom(alice, room);
    const png = gradientPng(96, 64);
    const chooser = alice.locator('.composer input[type=file]');
    await chooser.setInputFiles({ name: 'gradient <b>.png', mimeType: 'image/png', buffer: png });
    await alice.locator('.uploads .upload.done').waitFor({ timeout: 15000 });
    await shot(alice, '17-attachment-ready');
    await alice.locator('.composer textarea').fill('the new **logo**');
    await alice.locator('.composer textarea').press('Enter');
    const img = bob.locator('.messages li.message:not(.pending) .attachment img.preview');
    await img.waitFor({ timeout: 15000 });
    await bob.waitForFunction(() => {
      const el = document.querySelector('.messages li.message:not(.pending) .attachment img.preview');
      return el && el.complete && el.naturalWidth > 0;
    });
    assert.equal(await img.evaluate((el) => el.naturalWidth), 96);
    await bob.getByRole('link', { name: 'Open image gradient <b>.png' }).waitFor();
    // The file name is text, never markup.
    const link = bob.getByRole('link', { name: /^📎 gradient <b>\.png$/ });
    await link.waitFor();
    const href = await link.getAttribute('href');
    assert.match(href, /^\/api\/v1\/attachments\/\d+\?download=1$/);
    const got = await bob.evaluate(async (h) => {
      const r = await fetch(h);
      const bytes = new Uint8Array(await r.arrayBuffer());
      return { status: r.status, disposition: r.headers.get('content-disposition'), b64: btoa(String.fromCharCode(...bytes)) };
    }, href);
    assert.equal(got.status, 200);
    assert.match(got.disposition, /^attachment;/);
    assert.equal(got.b64, png.toString('base64'));
    await shot(bob, '18-attachment-preview');
    expectNoXss(bob);
    assert.deepEqual(bob.errors.slice(bobSeen), []);
    assert.deepEqual(alice.errors.slice(aliceSeen), []);
  });

  test('12. settings change the display name and password; an admin manages users, quotas and reads the audit log', async () => {
    const aliceSeen = alice.errors.length;
    await alice.getByRole('button', { name: 'Settings' }).click();
    const settings = alice.getByRole('dialog', { name: 'Settings' });
    await settings.getByRole('textbox', { name: 'Display name' }).fill('Alice Liddell');
    await settings.getByRole('button', { name: 'Save name' }).click();
    await settings.getByText('Saved.').waitFor();
    await settings.getByLabel('Current password').fill('wrong password entirely 1');
    await settings.getByLabel('New password').fill('a newer passphrase for alice 9');
    await settings.getByRole('button', { name: 'Change password' }).click();
    await settings.getByRole('alert').filter({ hasText: 'current password is wrong' }).waitFor();
    await settings.getByLabel('Current password').fill('purple otter sings at dawn 42');
    await settings.getByRole('button', { name: 'Change password' }).click();
    await settings.getByText('Password changed.').waitFor();
    await shot(alice, '19-settings-password');
    assert.equal(await alice.evaluate(() => fetch('/api/v1/me').then((r) => r.json()).then((j) => j.user.display_name)),
      'Alice Liddell');
    await settings.getByRole('button', { name: 'Close' }).click();

    // Alice registered first, so she is the administrator.
    await alice.getByRole('button', { name: 'Admin' }).click();
    const admin = alice.getByRole('dialog', { name: 'Administration' });
    await admin.getByRole('button', { name: `Disable ${bobName}` }).click();
    await admin.getByRole('button', { name: `Enable ${bobName}` }).waitFor();
    await shot(alice, '20-admin-users');
    assert.equal(await bob.evaluate(() => fetch('/api/v1/me').then((r) => r.status)), 401);
    await admin.getByRole('button', { name: `Enable ${bobName}` }).click();
    await admin.getByRole('button', { name: `Disable ${bobName}` }).waitFor();

    await admin.getByRole('tab', { name: 'Storage' }).click();
    const quota = admin.getByLabel(`Quota of ${aliceName} in MB`);
    await quota.fill('50');
    await quota.press('Enter');
    let myQuota = 0;
    for (let i = 0; i < 50 && myQuota !== 50 * 1024 * 1024; i++) {
      await sleep(100);
      myQuota = await alice.evaluate(() => fetch('/api/v1/me/storage').then((r) => r.json()).then((j) => j.quota_bytes));
    }
    assert.equal(myQuota, 50 * 1024 * 1024);

    await admin.getByRole('tab', { name: 'Audit log' }).click();
    await admin.getByRole('status').filter({ hasText: 'Hash chain verified' }).waitFor();
    await admin.getByRole('status').filter({ hasText: 'Signed checkpoint verified' }).waitFor();
    await admin.getByRole('cell', { name: 'admin.update_user' }).first().waitFor();
    await admin.getByRole('cell', { name: 'attachment.upload' }).first().waitFor();
    await shot(alice, '21-admin-audit');
    // The refused /api/v1/me of the wrong password attempt is the only failed request.
    assert.deepEqual(alice.errors.slice(aliceSeen).filter((e) => !e.includes('403')), []);
  });

  test('13. over quota the server\'s refusal shows; drop, remove and a file-only message; the thumbnail after a reload', async () => {
    // After scenario 12 Alice's administration dialog may be open and Bob (disabled, enabled
    // again) may have to sign in again.
    const adminDialog = alice.getByRole('dialog', { name: 'Administration' });
    if (await adminDialog.isVisible()) await adminDialog.getByRole('button', { name: 'Close' }).click();
    await bob.goto(url);
    const signIn = bob.getByRole('button', { name: 'Sign in' }).last();
    await Promise.race([signIn.waitFor(), bob.getByRole('navigation', { name: 'Rooms and direct messages' }).waitFor()]);
    if (await signIn.isVisible()) {
      await bob.getByLabel('Username').fill(bobName);
      await bob.getByLabel('Password').fill('purple otter sings at dawn 42');
      await signIn.click();
    }
    await online(bob);
    await openRoom(bob, room);
    await openRoom(alice, room);
    const [aliceSeen, bobSeen] = [alice.errors.length, bob.errors.length];
    const api = (page, method, p, body) =>
      page.evaluate(
        async ([method, p, body]) => {
          const init = { method, headers: body ? { 'Content-Type': 'application/json' } : {} };
          if (body) init.body = JSON.stringify(body);
          const r = await fetch('/api/v1' + p, init);
          return { status: r.status, json: r.status === 204 ? null : await r.json() };
        },
        [method, p, body],
      );
    const uploadAnswer = (page) =>
      page.waitForResponse((r) => r.request().method() === 'POST' && /\/attachments\?filename=/.test(r.url()));
    const bobId = (await api(bob, 'GET', '/me')).json.user.id;

    // Alice (the first account: administrator) gives Bob a 1000-byte quota; a 4 KB file is
    // refused before its body is read, and the browser still gets the 507 and its message.
    assert.equal((await api(alice, 'PUT', `/admin/users/${bobId}/quota`, { quota_bytes: 1000 })).status, 200);
    const refused = uploadAnswer(bob);
    await bob.locator('.composer input[type=file]').setInputFiles({
      name: 'big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(4096, 7),
    });
    assert.equal((await refused).status(), 507);
    const failed = bob.locator('.uploads .upload.failed');
    await failed.getByRole('alert').filter({ hasText: 'storage quota exceeded' }).waitFor();
    await shot(bob, '22-upload-refused');
    await bob.getByRole('button', { name: 'Remove big.bin' }).click();
    await failed.waitFor({ state: 'detached' });
    assert.equal((await api(alice, 'PUT', `/admin/users/${bobId}/quota`, { quota_bytes: null })).status, 200);

    // Over the server's size limit (4 MiB here, from GET /me/storage): refused at once, not a
    // byte sent.
    let sentTooBig = false;
    const watch = (r) => {
      if (r.method() === 'POST' && /filename=too-big\.bin/.test(r.url())) sentTooBig = true;
    };
    bob.on('request', watch);
    await bob.locator('.composer input[type=file]').setInputFiles({
      name: 'too-big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(5 << 20, 3),
    });
    await failed.getByRole('alert').filter({ hasText: "larger than the server's limit of 4.0 MB" }).waitFor();
    bob.off('request', watch);
    assert.equal(sentTooBig, false);
    await bob.getByRole('button', { name: 'Remove too-big.bin' }).click();
    await failed.waitFor({ state: 'detached' });

    // A file dropped on the room uploads; removing it deletes it on the server.
    const drop = async (name, text) => {
      const dt = await bob.evaluateHandle(([name, text]) => {
        const d = new DataTransfer();
        d.items.add(new File([text], name, { type: 'text/plain' }));
        return d;
      }, [name, text]);
      const answer = uploadAnswer(bob);
      await bob.dispatchEvent('section.room', 'dragover', { dataTransfer: dt });
      await bob.locator('section.room.dragging').waitFor();
      await bob.dispatchEvent('section.room', 'drop', { dataTransfer: dt });
      await bob.locator('section.room.dragging').waitFor({ state: 'detached' });
      const res = await answer;
      assert.equal(res.status(), 201);
      return (await res.json()).attachment;
    };
    const dropped = await drop('draft.txt', 'not this one');
    assert.equal(dropped.filename, 'draft.txt');
    assert.equal(dropped.inline, false);
    await bob.locator('.uploads .upload.done', { hasText: 'draft.txt' }).waitFor();
    const deleted = bob.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().endsWith(`/attachments/${dropped.id}`));
    await bob.getByRole('button', { name: 'Remove draft.txt' }).click();
    assert.equal((await deleted).status(), 204);
    assert.equal((await api(bob, 'GET', `/attachments/${dropped.id}/meta`)).status, 404);

    // A message with a file and no text: Alice gets a download link (no preview for text).
    const notes = 'line one\nline two ✓\n';
    const name = 'notes <img src=x onerror=alert(1)>.txt';
    const kept = await drop(name, notes);
    assert.equal(kept.filename, name);
    await bob.locator('.uploads .upload.done', { hasText: name }).waitFor();
    await bob.locator('.composer textarea').press('Enter');
    await bob.locator('.uploads').waitFor({ state: 'detached' });
    const item = alice.locator('.messages li.message:not(.pending)', { has: alice.locator(`a[href="/api/v1/attachments/${kept.id}?download=1"]`) });
    await item.waitFor();
    assert.equal(await item.locator('.attachment img').count(), 0);
    assert.equal((await item.locator('.body').textContent()).trim(), '');
    assert.equal((await item.locator('.attachment .file').textContent()).trim(), `📎 ${name} ${Buffer.byteLength(notes)} B`);
    const text = await alice.evaluate((id) => fetch(`/api/v1/attachments/${id}?download=1`).then((r) => r.text()), kept.id);
    assert.equal(text, notes);
    await shot(alice, '23-file-only-message');

    // The worker made a thumbnail of the image from scenario 11: after a reload the preview uses it.
    const image = (await api(bob, 'GET', `/rooms/${(await api(bob, 'GET', '/rooms')).json.rooms.find((r) => r.name === room).id}/messages?limit=20`))
      .json.messages.flatMap((m) => m.attachments ?? []).find((a) => a.inline);
    assert.ok(image, 'the image of scenario 11 is in the history');
    for (let i = 0; i < 100 && !(await api(bob, 'GET', `/attachments/${image.id}/meta`)).json.attachment.thumbnail; i++) await sleep(100);
    await bob.setViewportSize({ width: 390, height: 844 });
    await bob.reload();
    await online(bob);
    const thumb = bob.locator(`img.preview[src="/api/v1/attachments/${image.id}/thumbnail"]`);
    await thumb.waitFor({ timeout: 15000 });
    await thumb.scrollIntoViewIfNeeded();
    await bob.waitForFunction((id) => {
      const el = document.querySelector(`img.preview[src="/api/v1/attachments/${id}/thumbnail"]`);
      return el && el.complete && el.naturalWidth > 0;
    }, image.id);
    const box = await thumb.boundingBox();
    assert.ok(box.width <= 390, 'the preview fits a phone screen');
    await shot(bob, '24-attachment-phone');
    await bob.setViewportSize({ width: 1000, height: 760 });
    expectNoXss(bob);
    expectNoXss(alice);
    // The only failed requests: the refused upload (507) and the meta of the deleted file (404).
    assert.deepEqual(bob.errors.slice(bobSeen).filter((e) => !/status of (507|404)/.test(e)), []);
    assert.deepEqual(alice.errors.slice(aliceSeen), []);
  });

  test('14. a slow upload shows its progress and Send waits for it; removing an upload cancels it', async () => {
    const [aliceSeen, bobSeen] = [alice.errors.length, bob.errors.length];
    // Chromium's own throttling: 256 KiB/s up, so a 1 MiB file takes about 4 s.
    const cdp = await bob.context().newCDPSession(bob);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 256 * 1024 });
    const storage = () => bob.evaluate(() => fetch('/api/v1/me/storage').then((r) => r.json()));
    const picker = bob.locator('.composer input[type=file]');
    const box = bob.locator('.composer textarea');
    try {
      await picker.setInputFiles({ name: 'slow.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(1 << 20, 1) });
      const bar = bob.getByRole('progressbar', { name: 'Uploading slow.bin' });
      await bar.waitFor();
      await bob.waitForFunction(() => {
        const v = Number(document.querySelector('.upload progress')?.getAttribute('aria-valuenow'));
        return v > 0 && v < 100;
      });
      await box.fill('the file is attached');
      await box.press('Enter');
      await bob.getByRole('status').filter({ hasText: 'waits for the uploads' }).waitFor();
      // The composer grew by the file and the hint; the newest message is still in view.
      await bob.waitForFunction(() => {
        const el = document.querySelector('.messages');
        return el.scrollHeight - el.scrollTop - el.clientHeight < 2;
      });
      await shot(bob, '25-upload-progress');
      assert.equal(await bob.locator('.messages li.message.pending').count(), 0, 'nothing sent while uploading');
      assert.equal(await box.inputValue(), 'the file is attached');
      await bob.locator('.uploads .upload.done', { hasText: 'slow.bin' }).waitFor({ timeout: 30000 });
      assert.equal(await bob.getByRole('status').filter({ hasText: 'waits for the uploads' }).count(), 0);
      await box.press('Enter');
      const msg = alice.locator('.messages li.message:not(.pending)', { hasText: 'the file is attached' });
      await msg.getByRole('link', { name: '📎 slow.bin' }).waitFor();
      assert.match(await msg.locator('.attachment .file').textContent(), /1\.0 MB$/);

      // Removed while uploading: the request is cancelled and nothing is stored.
      const before = await storage();
      await picker.setInputFiles({ name: 'cancelled.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(1 << 20, 2) });
      await bob.getByRole('progressbar', { name: 'Uploading cancelled.bin' }).waitFor();
      await bob.getByRole('button', { name: 'Remove cancelled.bin' }).click();
      await bob.locator('.uploads').waitFor({ state: 'detached' });
      await sleep(1500);
      assert.deepEqual(await storage(), before);
    } finally {
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
      await cdp.detach();
    }
    assert.deepEqual(bob.errors.slice(bobSeen), []);
    assert.deepEqual(alice.errors.slice(aliceSeen), []);
  });
});

// A valid RGBA PNG with a colour gradient (no image library needed).
function gradientPng(w, h) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const raw = Buffer.alloc(h * (1 + w * 4));
  for (let y = 0; y < h; y++) {
    raw[y * (1 + w * 4)] = 0;
    for (let x = 0; x < w; x++) raw.set([(x * 255) / w, (y * 255) / h, 160, 255], y * (1 + w * 4) + 1 + x * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
