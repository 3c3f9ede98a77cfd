// The signed-in side of the web interface, on a phone and on a desktop:
// the admin signs in with the admin token, creates a user, issues `ada`
// (from the demo data) an API key and revokes another, and imports a
// Shlink CSV with one taken code; ada signs in with her key, finds her
// links (search, tag, order), shortens and edits one, reads spring-sale's
// analytics for a range of days (chart and tables), downloads its QR code
// as PNG and SVG, deletes a link after confirming, and signs out.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, beforeEach, describe, test } from 'node:test';

import { DEVICE_NAMES, isoDay, isPng, isSvg, newUi, openBrowser, startShorty, unique } from './lib.mjs';

let shorty;
let b;

before(async () => {
  shorty = await startShorty();
  b = await openBrowser();
});

after(async () => {
  await b?.close();
  await shorty?.stop();
});

/// Signs in on /ui/login with `token`; returns where it landed (checked
/// as `name`).
async function signIn(ui, token, { next, name } = {}) {
  const { page } = ui;
  await ui.visit(next ? `/ui/login?next=${encodeURIComponent(next)}` : '/ui/login');
  await page.getByLabel('API key or admin token').fill(token);
  await ui.submit(() => page.getByRole('button', { name: 'Sign in' }).last().click(), { name });
  return new URL(page.url());
}

/// The codes (without the slash) and click counts of the list's rows.
async function listRows(page) {
  return page.$$eval('main table tbody tr', (rows) =>
    rows.map((tr) => ({
      code: tr.querySelector('td a.mono')?.textContent.trim().replace(/^\//, ''),
      clicks: Number(tr.querySelector('td.num')?.textContent.replace(/[^0-9]/g, '')),
    })),
  );
}

/// Runs the list's filter form with these values (empty clears a field),
/// checking the result as `name`.
async function findLinks(ui, { q = '', tag = '', sort = '-created' }, name) {
  const { page } = ui;
  await page.getByLabel('Search').fill(q);
  await page.getByLabel('Tag').fill(tag);
  await page.getByLabel('Order').selectOption(sort);
  await ui.submit(() => page.getByRole('button', { name: 'Find' }).click(), { name });
  const params = new URL(page.url()).searchParams;
  assert.equal(params.get('q') ?? '', q);
  assert.equal(params.get('tag') ?? '', tag);
  return listRows(page);
}

// The order by clicks uses each link's count as of the last analytics
// write, at most 30 s old, while the counts shown are current (README,
// "Finding links"): links an earlier test just followed can sit out of
// order until then. So the list is asked for again until its counts are
// in order, for up to 40 s.
async function orderedByClicks(ui, sort, inOrder, name) {
  const deadline = Date.now() + 40_000;
  for (;;) {
    const rows = await findLinks(ui, { sort }, name);
    if (rows.every((r, i) => i === 0 || inOrder(rows[i - 1].clicks, r.clicks))) return rows;
    assert.ok(Date.now() < deadline, `not in ${sort} order 40 s on: ${JSON.stringify(rows)}`);
    await new Promise((done) => setTimeout(done, 1000));
  }
}

async function shortenAs(ui, { url, alias }, name) {
  const { page } = ui;
  await ui.visit('/');
  await page.getByLabel('Long URL').fill(url);
  await page.getByText('Options: alias, expiry, click limit, password').click();
  await page.getByLabel('Custom alias').fill(alias);
  await ui.submit(() => page.getByRole('button', { name: 'Shorten', exact: true }).click(), { status: 201, name });
  return page.locator('#short-url').inputValue();
}

for (const device of DEVICE_NAMES) {
  describe(`signed in (${device})`, () => {
    const sfx = unique(device === 'phone' ? 'p' : 'd');
    let admin;
    let ada;
    let adaKey;
    const editCode = `edit-${sfx}`;

    before(async () => {
      admin = await newUi(b.browser, shorty.url, device);
      ada = await newUi(b.browser, shorty.url, device, { clipboard: true });
    });
    // A test that failed early leaves what it recorded; the next starts clean.
    beforeEach(() => {
      admin.problems.length = 0;
      ada.problems.length = 0;
    });
    after(async () => {
      await admin?.close();
      await ada?.close();
    });

    test('the admin signs in with the admin token (a wrong one is refused next to the field)', async () => {
      const { page } = admin;
      await admin.visit('/ui/login', { name: 'login' });
      await page.getByLabel('API key or admin token').fill('sk_not-a-real-key');
      await admin.submit(() => page.getByRole('button', { name: 'Sign in' }).last().click(), {
        status: 401,
        name: 'login-error',
      });
      assert.match(await page.locator('#token-error').innerText(), /not a valid key/);
      assert.equal(await page.locator('#token').getAttribute('aria-invalid'), 'true');

      const landed = await signIn(admin, shorty.adminToken, { next: '/ui/admin', name: 'admin' });
      assert.equal(landed.pathname, '/ui/admin');
      assert.equal(await page.locator('.site-header .who').innerText(), 'admin');
      assert.ok(await page.getByRole('link', { name: 'Admin' }).isVisible());
      assert.ok(await page.locator('main table').getByRole('link', { name: 'ada', exact: true }).isVisible(), 'the demo user is listed');
    });

    test('the admin creates a user, issues ada a key (shown once) and revokes another', async () => {
      const { page } = admin;
      const id = `ui-${sfx}`;
      await admin.visit('/ui/admin');
      // A bad email is refused next to its field.
      await page.getByLabel('User id', { exact: true }).fill(id);
      await page.getByLabel('Name', { exact: true }).fill('UI Tester');
      await page.getByLabel('Email', { exact: true }).fill('not an email');
      await admin.submit(() => page.getByRole('button', { name: 'Save user' }).click(), { status: 422, name: 'admin-error' });
      assert.equal(await page.locator('#user-email').getAttribute('aria-invalid'), 'true');
      assert.match(await page.locator('#email-error').innerText(), /\S/);
      await page.getByLabel('Email', { exact: true }).fill(`${id}@example.com`);
      await admin.submit(() => page.getByRole('button', { name: 'Save user' }).click(), { name: 'admin-user-saved' });
      assert.equal(new URL(page.url()).pathname, `/ui/admin/users/${id}`);
      assert.ok(await page.getByText('Saved.').isVisible());

      // ada's page, from the users list.
      await admin.visit('/ui/admin');
      await admin.submit(() => page.locator('main table').getByRole('link', { name: 'ada', exact: true }).click(), {
        name: 'admin-user',
      });
      assert.equal(new URL(page.url()).pathname, '/ui/admin/users/ada');

      const issue = async (name, shot) => {
        await page.getByLabel('Name optional', { exact: true }).fill(name);
        for (const scope of ['links:read', 'links:write', 'stats:read']) {
          await page.getByLabel(new RegExp(`^${scope} `)).check();
        }
        await admin.submit(() => page.getByRole('button', { name: 'Issue key' }).click(), { status: 201, name: shot });
        const key = await page.locator('#issued-key').inputValue();
        assert.match(key, /^sk_/);
        return key;
      };
      const spare = await issue(`spare-${device}`);
      adaKey = await issue(`ui-${device}`, 'admin-key-issued');
      assert.notEqual(spare, adaKey);
      assert.equal(await page.locator('#issued-title').textContent(), 'New API key');
      // Shown once: the page again does not have it.
      await admin.visit('/ui/admin/users/ada');
      assert.ok(!(await page.content()).includes(adaKey), 'the key is not shown again');
      const spareRow = page.locator('main table tbody tr').filter({ hasText: `spare-${device}` });
      assert.equal(await spareRow.count(), 1);
      await admin.submit(() => spareRow.getByRole('button', { name: /^Revoke key/ }).click(), { name: 'admin-key-revoked' });
      assert.ok(await page.getByText('The key is revoked.').isVisible());
      assert.equal(await page.locator('main table tbody tr').filter({ hasText: `spare-${device}` }).count(), 0);
      // The revoked key signs in nobody.
      const probe = await newUi(b.browser, shorty.url, device);
      try {
        await probe.visit('/ui/login');
        await probe.page.getByLabel('API key or admin token').fill(spare);
        await probe.submit(() => probe.page.getByRole('button', { name: 'Sign in' }).last().click(), { status: 401 });
        probe.assertClean();
      } finally {
        await probe.close();
      }
    });

    test('the admin imports a Shlink CSV: the taken code is reported by line, the rest imported', async () => {
      const { page } = admin;
      const one = `imp1-${sfx}`;
      const three = `imp3-${sfx}`;
      const csv = [
        'Long URL,Short code,Title,Tags',
        `https://example.com/import/one,${one},First,imported|ui`,
        `https://example.com/import/two,${shorty.demoCode},Taken,imported`,
        `https://example.com/import/three,${three},Third,`,
        '',
      ].join('\n');
      const file = { name: 'shlink.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) };
      const status = async (code) => (await admin.ctx.request.get(`${shorty.url}/${code}`, { maxRedirects: 0 })).status();
      // The report: its numbers, and the rows it lists.
      const report = async (dryRun) => {
        assert.equal(new URL(page.url()).pathname, '/ui/admin/import');
        const card = page.locator('section[aria-labelledby="report-title"]');
        const title = await card.locator('#report-title').textContent();
        assert.match(title, dryRun ? /Dry run of shlink\.csv: nothing was written/ : /Imported shlink\.csv/);
        const facts = Object.fromEntries(
          await card.locator('dl.facts > div').evaluateAll((divs) =>
            divs.map((d) => [d.querySelector('dt').textContent.trim(), Number(d.querySelector('dd').textContent.trim())]),
          ),
        );
        assert.deepEqual(
          facts,
          { 'Rows read': 3, [dryRun ? 'Would be imported' : 'Imported']: 2, 'Code taken': 1, Rejected: 0 },
          JSON.stringify(facts),
        );
        const rows = await card.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
        // The taken row: its line (3: the header is line 1), its code and why.
        assert.equal(rows.length, 1, JSON.stringify(rows));
        assert.equal(rows[0][0], '3');
        assert.equal(rows[0][1], shorty.demoCode);
        assert.match(rows[0][2], /already taken/);
      };

      // A dry run first (the form's default), from the admin page.
      await admin.visit('/ui/admin');
      await page.getByLabel('Format').selectOption('shlink');
      await page.getByLabel('File').setInputFiles(file);
      await page.getByLabel('Owner').fill('ada');
      assert.ok(await page.getByRole('checkbox', { name: /^Dry run/ }).isChecked(), 'a dry run is the default');
      await admin.submit(() => page.getByRole('button', { name: 'Import' }).click(), { name: 'import-dry-run' });
      await report(true);
      assert.equal(await status(one), 404, 'a dry run writes nothing');

      // Then as the report says: the file again, "Dry run" unticked; the
      // format and owner are kept.
      assert.equal(await page.getByLabel('Format').inputValue(), 'shlink');
      assert.equal(await page.getByLabel('Owner').inputValue(), 'ada');
      await page.getByLabel('File').setInputFiles(file);
      await page.getByRole('checkbox', { name: /^Dry run/ }).uncheck();
      await admin.submit(() => page.getByRole('button', { name: 'Import' }).click(), { name: 'import-report' });
      await report(false);
      assert.equal(await status(one), 302);
      assert.equal(await status(three), 302);
      const taken = await admin.ctx.request.get(`${shorty.url}/${shorty.demoCode}`, { maxRedirects: 0 });
      assert.notEqual(taken.headers().location, 'https://example.com/import/two', 'the taken code kept its own target');
      // The imported links are ada's, with their tags.
      await admin.visit(`/ui/links?owner=ada&tag=imported&q=${sfx}`);
      const codes = (await listRows(page)).map((r) => r.code).sort();
      assert.deepEqual(codes, [one].sort());
    });

    test('ada signs in with the key the admin issued', async () => {
      const landed = await signIn(ada, adaKey, { name: 'links-signed-in' });
      assert.equal(landed.pathname, '/ui/links', 'a user lands on their links');
      const { page } = ada;
      assert.equal(await page.locator('.site-header .who').innerText(), 'ada');
      assert.ok(await page.getByRole('link', { name: 'My links' }).isVisible());
      assert.equal(await page.getByRole('link', { name: 'Admin' }).count(), 0, 'no admin link for a user');
      await ada.visit('/', { name: 'shorten-signed-in' });
    });

    test('My links: search, tag filter and order', async () => {
      const { page } = ada;
      await ada.visit('/ui/links', { name: 'links' });
      const all = await listRows(page);
      assert.ok(all.some((r) => r.code === shorty.demoCode), JSON.stringify(all));

      assert.deepEqual((await findLinks(ada, { q: 'spring' }, 'links-search')).map((r) => r.code), [shorty.demoCode]);
      assert.deepEqual((await findLinks(ada, { q: 'no-link-has-this' }, 'links-none')).map((r) => r.code), []);
      assert.match(await page.locator('main').innerText(), /No links match/);

      assert.deepEqual((await findLinks(ada, { tag: 'launch' }, 'links-tag')).map((r) => r.code), [shorty.demoCode]);
      // A tag chip filters by its tag too.
      await ada.visit('/ui/links');
      await ada.submit(() => page.locator('main table a.tag', { hasText: 'hiring' }).first().click());
      assert.deepEqual((await listRows(page)).map((r) => r.code), ['jobs']);

      const most = await orderedByClicks(ada, '-clicks', (a, b) => a >= b, 'links-most-clicked');
      assert.equal(most[0].code, shorty.demoCode, 'the most clicked demo link comes first');
      await orderedByClicks(ada, 'clicks', (a, b) => a <= b);
      assert.equal(await page.getByLabel('Order').inputValue(), 'clicks', 'the chosen order stays selected');
    });

    test('ada shortens a link, finds it and edits its URL, tags and click limit', async () => {
      const { page } = ada;
      const shortUrl = await shortenAs(ada, { url: `https://example.com/before/${sfx}`, alias: editCode }, 'shorten-result-signed-in');
      assert.equal(shortUrl, `${shorty.url}/${editCode}`);

      await ada.visit('/ui/links');
      assert.deepEqual((await findLinks(ada, { q: editCode })).map((r) => r.code), [editCode]);
      await ada.submit(() => page.getByRole('link', { name: `Edit /${editCode}` }).click(), { name: 'edit' });
      assert.equal(new URL(page.url()).pathname, `/ui/links/${editCode}/edit`);
      assert.equal(await page.getByLabel('Goes to').inputValue(), `https://example.com/before/${sfx}`);

      await page.getByLabel('Goes to').fill('ftp://example.com/nope');
      await ada.submit(() => page.getByRole('button', { name: 'Save' }).click(), { status: 422, name: 'edit-error' });
      assert.equal(await page.locator('#url').getAttribute('aria-invalid'), 'true');
      assert.match(await page.locator('#url-error').innerText(), /\S/);

      const after = `https://example.com/after/${sfx}`;
      await page.getByLabel('Goes to').fill(after);
      await page.getByLabel('Tags').fill('ui, edited');
      await page.getByLabel('Click limit').fill('50');
      await ada.submit(() => page.getByRole('button', { name: 'Save' }).click(), { name: 'link-saved' });
      assert.equal(new URL(page.url()).pathname, `/ui/links/${editCode}`);
      assert.ok(await page.getByText('Saved.').isVisible());
      const facts = await page.locator('.link-head .facts').innerText();
      assert.match(facts, new RegExp(`Goes to\\s+${after.replace(/[./]/g, '\\$&')}`));
      assert.match(facts, /Clicks by people\s+0 of 50/);
      const tags = (await page.locator('.link-head .facts a.tag').allInnerTexts()).sort();
      assert.deepEqual(tags, ['edited', 'ui']);

      const hop = await ada.ctx.request.get(shortUrl, { maxRedirects: 0 });
      assert.equal(hop.headers().location, after, 'the redirect follows the edit');
      await ada.visit('/ui/links?tag=edited');
      assert.ok((await listRows(page)).some((r) => r.code === editCode));
    });

    test("spring-sale's page: a chosen range of days, the chart and the top tables", async () => {
      const { page } = ada;
      await ada.visit(`/ui/links/${shorty.demoCode}`);
      const from = isoDay(-13);
      const to = isoDay(-7);
      await page.getByLabel('From', { exact: true }).fill(from);
      await page.getByLabel('To', { exact: true }).fill(to);
      await ada.submit(() => page.getByRole('button', { name: 'Show' }).click(), { name: 'link' });
      const params = new URL(page.url()).searchParams;
      assert.equal(params.get('from'), from);
      assert.equal(params.get('to'), to);

      const chart = page.locator('svg.chart');
      assert.equal(await chart.count(), 1);
      assert.ok(await chart.isVisible());
      const box = await chart.boundingBox();
      assert.ok(box.width > 200 && box.height > 60, `the chart has a size: ${JSON.stringify(box)}`);
      assert.ok((await chart.locator('rect.human').count()) >= 7, 'a bar of people per day');
      assert.match(await chart.locator('title').first().textContent(), new RegExp(`${from} to ${to}: \\d+ in all`));
      const daily = await page.$$eval('details table tbody tr', (rows) => rows.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
      assert.equal(daily.length, 7, 'seven days in the table');
      assert.equal(daily[0][0], from);
      assert.equal(daily[6][0], to);
      const totals = await page.$$eval('.totals .n', (ns) => ns.map((n) => Number(n.textContent.replace(/[^0-9]/g, ''))));
      assert.equal(totals.length, 3);
      assert.ok(totals[0] > 0 && totals[1] > 0, `visits in the range: ${totals}`);
      assert.equal(totals[0], totals[1] + totals[2], 'visits = people + bots');
      assert.equal(
        daily.reduce((sum, d) => sum + Number(d[3].replace(/[^0-9]/g, '')), 0),
        totals[0],
        'the daily table adds up to the total',
      );

      const tops = page.locator('.tops section.card');
      const referrers = tops.filter({ has: page.getByRole('heading', { name: /referr/i }) });
      assert.equal(await referrers.count(), 1, `a top referrers table among: ${await tops.locator('h3').allInnerTexts()}`);
      const refRows = await referrers.locator('tbody tr').evaluateAll((rows) =>
        rows.map((tr) => ({ name: tr.cells[0].textContent.trim(), clicks: Number(tr.cells[1].textContent.replace(/[^0-9]/g, '')) })),
      );
      assert.ok(refRows.length >= 2, JSON.stringify(refRows));
      for (const r of refRows) assert.ok(r.name && r.clicks > 0, JSON.stringify(r));
      for (let i = 1; i < refRows.length; i++) assert.ok(refRows[i - 1].clicks >= refRows[i].clicks, 'referrers by visits');
      const browsers = tops.filter({ has: page.getByRole('heading', { name: /browser/i }) });
      assert.ok((await browsers.locator('tbody tr').count()) >= 2, 'a top browsers table');

      // A preset, then a range that makes no sense (shown, with the default range).
      const preset = page.locator('nav.presets a').first();
      await ada.submit(() => preset.click());
      assert.equal(await page.locator('nav.presets a').first().getAttribute('aria-current'), 'true');
      await page.getByLabel('From', { exact: true }).fill(to);
      await page.getByLabel('To', { exact: true }).fill(from);
      await ada.submit(() => page.getByRole('button', { name: 'Show' }).click(), { status: 400, name: 'link-range-error' });
      assert.equal(await page.locator('#from').getAttribute('aria-invalid'), 'true');
      assert.match(await page.locator('#range-error').innerText(), /Showing the last 30 days instead/);
    });

    test("spring-sale's QR code downloads as PNG and SVG", async () => {
      const { page } = ada;
      await ada.visit(`/ui/links/${shorty.demoCode}`);
      for (const [label, check, type] of [
        ['PNG', (buf) => assert.ok(isPng(buf), 'PNG magic'), 'image/png'],
        ['SVG', (buf) => assert.ok(isSvg(buf.toString('utf8')), `an SVG document: ${buf.toString('utf8').slice(0, 80)}`), 'image/svg+xml'],
      ]) {
        const link = page.locator('figure.qr .downloads').getByRole('link', { name: label, exact: true });
        const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
        assert.equal(download.suggestedFilename(), `${shorty.demoCode}-qr.${label.toLowerCase()}`);
        const file = await download.path();
        check(readFileSync(file));
        const res = await ada.ctx.request.get(new URL(await link.getAttribute('href'), shorty.url).href);
        assert.equal(res.status(), 200);
        assert.equal(res.headers()['content-type'].split(';')[0], type);
        check(await res.body());
      }
      ada.assertClean();
    });

    test('ada deletes her link after confirming', async () => {
      const { page } = ada;
      await ada.visit(`/ui/links/${editCode}`);
      await ada.submit(() => page.locator('.link-head').getByRole('link', { name: 'Delete' }).click(), { name: 'delete' });
      assert.equal(new URL(page.url()).pathname, `/ui/links/${editCode}/delete`);
      assert.ok(await page.getByRole('heading', { name: `Delete /${editCode}?` }).isVisible());
      // Keeping it changes nothing.
      await ada.submit(() => page.getByRole('link', { name: 'Keep it' }).click());
      assert.equal(new URL(page.url()).pathname, `/ui/links/${editCode}`);
      await ada.submit(() => page.locator('.link-head').getByRole('link', { name: 'Delete' }).click());
      await ada.submit(() => page.getByRole('button', { name: 'Delete the link' }).click(), { name: 'links-deleted' });
      assert.equal(new URL(page.url()).pathname, '/ui/links');
      assert.match(await page.locator('.notice.ok').innerText(), new RegExp(`Deleted /${editCode}`));
      assert.ok(!(await listRows(page)).some((r) => r.code === editCode), 'the deleted link is not listed');
      const gone = await ada.ctx.request.get(`${shorty.url}/${editCode}`, { maxRedirects: 0 });
      assert.equal(gone.status(), 410);
    });

    test('signing out: My links asks to sign in again', async () => {
      const { page } = ada;
      await ada.visit('/ui/links');
      await ada.submit(() => page.getByRole('button', { name: 'Sign out' }).click(), { name: 'signed-out' });
      assert.equal(new URL(page.url()).pathname, '/');
      assert.ok(await page.locator('.site-header').getByRole('link', { name: 'Sign in' }).isVisible());
      assert.equal(await page.getByRole('link', { name: 'My links' }).count(), 0);
      await ada.visit('/ui/links', { name: 'signed-out-links' });
      const url = new URL(page.url());
      assert.equal(url.pathname, '/ui/login');
      assert.equal(url.searchParams.get('next'), '/ui/links');
      assert.ok(await page.getByRole('heading', { name: 'Sign in' }).isVisible());

      await admin.visit('/ui/admin');
      await admin.submit(() => admin.page.getByRole('button', { name: 'Sign out' }).click());
      await admin.visit('/ui/admin');
      assert.equal(new URL(admin.page.url()).pathname, '/ui/login');
      admin.assertClean();
    });
  });
}
