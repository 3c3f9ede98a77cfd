// The harness checks itself: against a page of its own (no shorty), each
// check in lib.mjs must catch what it is for, so a green run of the real
// suite means something. A CSP violation, a third-party request, a console
// error and a serious axe violation must each fail; axe must run under a
// strict CSP, with and without the page's JavaScript.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { checkA11y, newUi, openBrowser } from './lib.mjs';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'";

const PAGES = {
  '/clean': '<main><h1>Clean</h1><p>Nothing wrong here.</p></main>',
  '/inline-style': '<main><h1>Inline style</h1><p style="color: red">styled</p></main>',
  '/third-party':
    '<main><h1>Third party</h1><img src="https://cdn.example.net/pixel.gif" alt="pixel"><img src="http://192.0.2.7/ip.gif" alt="ip"></main>',
  '/no-alt': '<main><h1>No alt</h1><img src="/img.svg"></main>',
  '/console': '<main><h1>Console</h1><script src="/boom.js"></script></main>',
  '/wide': '<main><h1>Wide</h1><img src="/img.svg" width="2000" height="10" alt="a wide picture"></main>',
};

let server;
let base;
let b;

before(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/img.svg') {
      res.writeHead(200, { 'content-type': 'image/svg+xml' });
      return res.end('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    }
    if (req.url === '/boom.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      return res.end('console.error("boom");');
    }
    const body = PAGES[req.url];
    res.writeHead(body ? 200 : 404, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': CSP });
    res.end(`<!doctype html><html lang="en"><head><title>t</title><link rel="icon" href="/img.svg"></head><body>${body ?? '<main><h1>Not found</h1></main>'}</body></html>`);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
  b = await openBrowser();
});

after(async () => {
  await b?.close();
  await new Promise((r) => server?.close(r) ?? r());
});

async function problemsOf(path, options = {}) {
  const ui = await newUi(b.browser, base, 'desktop', options);
  try {
    await ui.visit(path, { check: false });
    await ui.page.waitForTimeout(100);
    return [...ui.problems].map((p) => (typeof p === 'string' ? p : p.text));
  } finally {
    await ui.close();
  }
}

describe('harness', () => {
  test('axe runs under the strict CSP, with and without JavaScript', async () => {
    for (const javaScript of [true, false]) {
      const ui = await newUi(b.browser, base, 'desktop', { javaScript });
      try {
        await ui.visit('/clean', { check: false });
        const result = await checkA11y(ui.page, 'clean');
        assert.equal(result.engine.name, 'axe-core');
        ui.assertClean();
        await ui.visit('/no-alt', { check: false });
        await assert.rejects(checkA11y(ui.page, 'no-alt'), /image-alt/);
      } finally {
        await ui.close();
      }
    }
  });

  test('an inline style is a CSP violation, with and without JavaScript', async () => {
    const withJs = await problemsOf('/inline-style');
    assert.ok(withJs.some((p) => /CSP violation.*style-src/.test(p)), withJs.join('\n'));
    const withoutJs = await problemsOf('/inline-style', { javaScript: false });
    assert.ok(withoutJs.some((p) => /violates the following Content Security Policy/.test(p)), withoutJs.join('\n'));
  });

  test('a request to another origin is blocked and reported, by name or by address', async () => {
    const ui = await newUi(b.browser, base, 'desktop', { javaScript: false });
    try {
      await ui.visit('/third-party', { check: false });
      await ui.page.waitForTimeout(200);
      const found = ui.problems.map((p) => (typeof p === 'string' ? p : p.text));
      for (const url of ['https://cdn.example.net/pixel.gif', 'http://192.0.2.7/ip.gif']) {
        assert.ok(found.some((p) => p.includes('third-party origin') && p.includes(url)), found.join('\n'));
        assert.ok(ui.failed.some((f) => f.url === url), `${url} never left the browser: ${JSON.stringify(ui.failed)}`);
      }
      assert.throws(() => ui.assertClean(), /third-party origin/);
    } finally {
      await ui.close();
    }
  });

  test('a console error is reported', async () => {
    const found = await problemsOf('/console');
    assert.ok(found.some((p) => p.includes('console error') && p.includes('boom')), found.join('\n'));
  });

  test('a page that scrolls sideways fails the check', async () => {
    const shots = mkdtempSync(path.join(os.tmpdir(), 'shorty-ui-harness-'));
    const ui = await newUi(b.browser, base, 'phone', { screenshotDir: shots });
    try {
      await ui.visit('/wide', { check: false });
      await assert.rejects(ui.check('wide'), /scrolls sideways.*img/);
      assert.ok(existsSync(path.join(shots, 'wide-phone.png')), 'the failing page was screenshotted first');
    } finally {
      await ui.close();
      rmSync(shots, { recursive: true, force: true });
    }
  });

  test('an unexpected 404 document fails, an expected one does not', async () => {
    const ui = await newUi(b.browser, base, 'desktop');
    try {
      await assert.rejects(ui.visit('/missing', { check: false }), /status 404, expected 200/);
      await ui.page.waitForTimeout(100);
      assert.throws(() => ui.assertClean(), /status of 404/);
      await ui.visit('/missing-too', { status: 404, check: false });
      await ui.page.waitForTimeout(100);
      ui.assertClean();
    } finally {
      await ui.close();
    }
  });
});
