// The public side of the web interface, as a visitor who is not signed in
// sees it, on a phone and on a desktop: shortening without JavaScript (a
// plain form post) and with it (the copy button), field errors, the
// keyboard (every stop of the form labelled, focus always visible), a
// link's public preview, a password-protected link (wrong password, then
// the right one, landing on the target), and the error pages.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { DEVICE_NAMES, LANDING_ORIGIN, newUi, openBrowser, startShorty, unique } from './lib.mjs';

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

/// Fills the shorten form's URL (and options, opening them) and submits
/// it, checking the page it leads to as `name`; returns the short URL the
/// result shows (after a 201).
async function shorten(ui, { url, alias, maxClicks, password, expires }, { status = 201, name } = {}) {
  const { page } = ui;
  await page.getByLabel('Long URL').fill(url);
  if (alias || maxClicks || password || expires) {
    if (!(await page.locator('details.more').evaluate((d) => d.open))) {
      await page.getByText('Options: alias, expiry, click limit, password').click();
    }
    if (alias) await page.getByLabel('Custom alias').fill(alias);
    if (expires) await page.getByLabel('Expires').selectOption(expires);
    if (maxClicks) await page.getByLabel('Click limit').fill(String(maxClicks));
    if (password) await page.getByLabel('Password').fill(password);
  }
  await ui.submit(() => page.getByRole('button', { name: 'Shorten', exact: true }).click(), { status, name });
  if (status !== 201) return null;
  // (Not getByRole('heading'): the template gives this <h2> role="status",
  // which takes its heading role away; see the report.)
  assert.equal(await page.locator('#result-title').textContent(), 'Your short link is ready');
  return page.locator('#short-url').inputValue();
}

/// The redirect of `shortUrl`, not followed.
async function redirectOf(ui, shortUrl) {
  const res = await ui.ctx.request.get(shortUrl, { maxRedirects: 0 });
  return { status: res.status(), location: res.headers().location };
}

for (const device of DEVICE_NAMES) {
  describe(`shorten (${device})`, () => {
    test('without JavaScript: a plain form post makes a link that redirects', async () => {
      const ui = await newUi(b.browser, shorty.url, device, { javaScript: false });
      try {
        const { page } = ui;
        await ui.visit('/', { name: 'shorten' });

        // A field error, shown next to its field.
        await shorten(ui, { url: 'javascript:alert(1)' }, { status: 422, name: 'shorten-error' });
        const url = page.locator('#url');
        assert.equal(await url.getAttribute('aria-invalid'), 'true');
        assert.equal(await url.getAttribute('aria-describedby'), 'url-error');
        assert.match(await page.locator('#url-error').innerText(), /\S/);
        assert.equal(
          await page.locator('.field.invalid').filter({ has: page.locator('#url') }).locator('#url-error').count(),
          1,
          'the error is inside the URL field',
        );

        const target = `https://example.com/no-js/${unique()}?ref=ui-test`;
        const shortUrl = await shorten(ui, { url: target }, { name: 'shorten-result-nojs' });
        assert.ok(shortUrl.startsWith(`${shorty.url}/`), shortUrl);
        assert.equal(await page.locator('.result .facts dd').first().innerText(), target);
        const qr = page.locator('.result figure.qr img');
        assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code image loads');

        const hop = await redirectOf(ui, shortUrl);
        assert.equal(hop.status, 302);
        assert.equal(hop.location, target);

        // No script, no copy button (it would do nothing): the markup has
        // it `hidden` until the script shows it.
        const copy = page.locator('button[data-copy]');
        assert.equal(await copy.getAttribute('hidden'), '', 'the copy button is marked hidden');
        assert.equal(
          await copy.isVisible(),
          false,
          `the copy button is hidden without JavaScript (its display is ${await copy.evaluate((e) => getComputedStyle(e).display)})`,
        );
      } finally {
        await ui.close();
      }
    });

    test('with JavaScript: options, and the copy button copies the short link', async () => {
      const ui = await newUi(b.browser, shorty.url, device, { clipboard: true });
      try {
        const { page } = ui;
        await ui.visit('/');
        const alias = unique(`ui-${device}-`);
        const target = `https://example.com/with-js/${alias}`;
        const shortUrl = await shorten(ui, { url: target, alias, maxClicks: 5, expires: '7d' });
        assert.equal(shortUrl, `${shorty.url}/${alias}`);
        const facts = await page.locator('.result .facts').innerText();
        assert.match(facts, /Click limit\s+5/);
        assert.match(facts, /Expires/);

        const copy = page.getByRole('button', { name: 'Copy' });
        assert.ok(await copy.isVisible(), 'the script shows the copy button');
        await copy.click();
        await page.getByRole('button', { name: 'Copied' }).waitFor();
        assert.equal(await page.locator('[data-copy-status="short-url"]').innerText(), 'Copied to the clipboard.');
        assert.equal(await page.evaluate(() => navigator.clipboard.readText()), shortUrl);
        await ui.check('shorten-result');

        // The alias is taken now: the error says so next to the field.
        await ui.visit('/');
        await shorten(ui, { url: target, alias }, { status: 409, name: 'shorten-alias-taken' });
        assert.match(await page.locator('#alias-error').innerText(), /taken/);
        assert.equal(await page.locator('#alias').getAttribute('aria-invalid'), 'true');
      } finally {
        await ui.close();
      }
    });

    test('keyboard: every stop of the shorten form is labelled and shows its focus', async () => {
      const ui = await newUi(b.browser, shorty.url, device);
      try {
        const { page } = ui;
        await ui.visit('/');
        const describeFocus = () =>
          page.evaluate(() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            const labelled =
              (el.labels && [...el.labels].some((l) => l.innerText.trim())) ||
              !!el.getAttribute('aria-label') ||
              !!el.getAttribute('aria-labelledby');
            const rect = el.getBoundingClientRect();
            return {
              tag: el.tagName.toLowerCase(),
              id: el.id,
              text: (el.innerText || el.value || '').trim().slice(0, 60),
              control: ['input', 'select', 'textarea'].includes(el.tagName.toLowerCase()),
              labelled,
              focusVisible: el.matches(':focus-visible'),
              outline: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`,
              ring:
                (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) ||
                (style.boxShadow !== 'none' && style.boxShadow !== ''),
              onScreen: rect.width > 0 && rect.height > 0 && rect.bottom > 0 && rect.right > 0,
            };
          });
        const stops = [];
        const tabUntil = async (done, limit = 20) => {
          for (let i = 0; i < limit; i++) {
            await page.keyboard.press('Tab');
            const f = await describeFocus();
            stops.push(f);
            if (done(f)) return f;
          }
          assert.fail(`never reached the wanted stop; stops: ${JSON.stringify(stops.map((s) => s.id || s.text))}`);
        };

        // The first stop is the skip link, and it shows itself.
        const first = await tabUntil(() => true);
        assert.equal(first.text, 'Skip to content');
        assert.ok(first.onScreen, 'the skip link is visible when focused');
        await ui.check('shorten-focus-skip-link');

        await tabUntil((f) => f.id === 'url');
        await ui.check('shorten-focus-url');
        // The options are a <details>: open them from the keyboard.
        const summary = await tabUntil((f) => f.tag === 'summary');
        assert.match(summary.text, /Options/);
        await page.keyboard.press('Enter');
        assert.ok(await page.locator('details.more').evaluate((d) => d.open), 'Enter opens the options');
        await tabUntil((f) => f.tag === 'button' && f.text === 'Shorten');

        const ids = stops.map((s) => s.id);
        for (const id of ['url', 'alias', 'expires', 'max_clicks', 'password']) {
          assert.ok(ids.includes(id), `Tab reaches #${id}; stops: ${JSON.stringify(ids)}`);
        }
        for (const s of stops) {
          const what = `${s.tag}${s.id ? `#${s.id}` : ''} “${s.text}”`;
          assert.ok(s.focusVisible, `${what} matches :focus-visible after Tab`);
          assert.ok(s.ring, `${what} has a visible focus ring (outline: ${s.outline})`);
          assert.ok(s.onScreen, `${what} is on screen when focused`);
          if (s.control) assert.ok(s.labelled, `${what} has a label`);
        }
        // Every field of every form has a label, whether or not Tab went there.
        const unlabelled = await page.$$eval('form input:not([type=hidden]), form select, form textarea', (els) =>
          els.filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')).map((el) => el.outerHTML),
        );
        assert.deepEqual(unlabelled, []);
        await ui.check('shorten-focus-options');

        // Enter in the URL field sends the form.
        await page.getByLabel('Long URL').fill(`https://example.com/keyboard/${unique()}`);
        await page.getByLabel('Long URL').focus();
        await ui.submit(() => page.keyboard.press('Enter'), { status: 201 });
        assert.equal(await page.locator('#result-title').textContent(), 'Your short link is ready');
      } finally {
        await ui.close();
      }
    });

    test('a protected link: the wrong password is refused next to the field, the right one lands on the target', async () => {
      const maker = await newUi(b.browser, shorty.url, device);
      let shortUrl;
      const target = `${LANDING_ORIGIN}/secret/${unique()}?from=shorty`;
      try {
        await maker.visit('/');
        shortUrl = await shorten(maker, { url: target, password: 'correct horse' });
        assert.match(await maker.page.locator('.result .facts').innerText(), /protected by a password/);
        assert.ok(!(await maker.page.content()).includes(target), 'the result does not show the protected target');
      } finally {
        await maker.close();
      }
      const code = new URL(shortUrl).pathname.slice(1);

      const ui = await newUi(b.browser, shorty.url, device);
      ui.allowOrigin(LANDING_ORIGIN);
      try {
        const { page } = ui;
        await ui.visit(`/${code}`, { name: 'protected' });
        assert.ok(await page.getByRole('heading', { name: 'This link needs a password' }).isVisible());
        assert.ok(!(await page.content()).includes(LANDING_ORIGIN), 'the form does not reveal the target');

        const password = page.getByLabel('Password', { exact: true });
        await password.fill('wrong horse');
        await ui.submit(() => page.getByRole('button', { name: 'Open link' }).click(), {
          status: 401,
          name: 'protected-wrong',
        });
        const error = page.locator('#password-error');
        assert.equal(await error.innerText(), 'Wrong password. Try again.');
        assert.equal(await password.getAttribute('aria-invalid'), 'true');
        assert.equal(await password.getAttribute('aria-describedby'), 'password-error');
        assert.equal(
          await error.evaluate((e) => e.previousElementSibling?.id),
          'password',
          'the error comes right after the password field',
        );

        const hits = b.landing.hits.length;
        await password.fill('correct horse');
        await ui.submit(() => page.getByRole('button', { name: 'Open link' }).click(), { check: false });
        assert.equal(page.url(), target);
        assert.equal(await page.title(), 'Landing page');
        assert.equal(b.landing.hits.length, hits + 1);
        assert.equal(b.landing.hits.at(-1).url, new URL(target).pathname + new URL(target).search);
        ui.assertClean();
      } finally {
        await ui.close();
      }
    });

    test('a link page seen by someone else is a preview; unknown pages are a 404 page', async () => {
      const ui = await newUi(b.browser, shorty.url, device);
      try {
        const { page } = ui;
        await ui.visit(`/ui/links/${shorty.demoCode}`, { name: 'link-preview' });
        assert.ok(await page.locator('figure.qr img').evaluate((img) => img.complete && img.naturalWidth > 0));
        assert.match(await page.locator('#stats-title ~ .card').first().innerText(), /Sign in as its owner/);
        assert.equal(await page.locator('svg.chart').count(), 0, 'no analytics for a visitor');

        await ui.visit('/ui/links/no-such-link-here', { status: 404, name: 'not-found-link' });
        assert.match(await page.locator('main').textContent(), /Error 404/);
        assert.ok(await page.getByRole('link', { name: 'Go to the start page' }).isVisible());

        await ui.visit('/ui/no/such/page', { status: 404, name: 'not-found-page' });
        assert.match(await page.locator('main').textContent(), /Error 404/);

        // Signed-in pages send a visitor to sign in, and back afterwards.
        await ui.visit('/ui/admin', { name: 'login-for-admin' });
        assert.equal(new URL(page.url()).pathname, '/ui/login');
        assert.equal(new URL(page.url()).searchParams.get('next'), '/ui/admin');
      } finally {
        await ui.close();
      }
    });
  });
}
