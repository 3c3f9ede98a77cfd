// Helpers of shorty's browser tests: a shorty server for a test file (or the
// one SHORTY_URL names), Debian's Chromium driven by playwright-core, phone
// and desktop contexts that refuse every request to another origin and
// fail the test on console errors, page errors and CSP violations, axe-core
// accessibility checks run without weakening the pages' CSP, and full-page
// screenshots.
//
// Environment:
//   SHORTY_URL          a running shorty to test (else one is started here,
//                       on a fresh SQLite file seeded by the demo-data example)
//   SHORTY_ADMIN_TOKEN  its admin token (default admin-token-0123456789)
//   SHORTY_BIN          the shorty binary (default target/debug/shorty)
//   SHORTY_DEMO_BIN     the demo-data example (default target/debug/examples/demo-data)
//   SHORTY_UI_BACKEND   a name for the backend, for the screenshots' folder (default sqlite)
//   UI_SCREENSHOT_DIR   where screenshots go (default target/ui-screenshots/<backend>/)
//   UI_DEVICES          phone, desktop or both (default phone,desktop)
//   UI_TIMING           set: log how long axe and each screenshot take
//   CHROMIUM            the browser (default /usr/bin/chromium)

import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BACKEND = process.env.SHORTY_UI_BACKEND || 'sqlite';
export const SCREENSHOT_DIR = path.resolve(
  process.env.UI_SCREENSHOT_DIR || path.join(ROOT, 'target', 'ui-screenshots', BACKEND),
);
export const ADMIN_TOKEN = process.env.SHORTY_ADMIN_TOKEN || 'admin-token-0123456789';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/// The host of the stand-in for an external link target: the browser's
/// resolver sends it (port 80) to a stub server of ours, every other name
/// resolves to nothing.
export const LANDING_HOST = 'landing.example.com';
export const LANDING_ORIGIN = `http://${LANDING_HOST}`;

// The user agents of an ordinary phone and desktop Chrome: headless
// Chromium's own ("HeadlessChrome") is counted as a bot, and a bot never
// gets the redirect of a link with a click limit.
export const DEVICES = {
  phone: {
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
    deviceScaleFactor: 2,
    userAgent:
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36',
  },
  desktop: {
    viewport: { width: 1280, height: 900 },
    isMobile: false,
    hasTouch: false,
    deviceScaleFactor: 1,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
  },
};

/// The devices the suites run on: UI_DEVICES (say `phone`), or both.
/// scripts/ui-test runs one process per device, side by side.
export const DEVICE_NAMES = (process.env.UI_DEVICES || 'phone,desktop')
  .split(',')
  .map((d) => d.trim())
  .filter(Boolean);
for (const d of DEVICE_NAMES) {
  if (!DEVICES[d]) throw new Error(`UI_DEVICES: unknown device ${d} (phone, desktop)`);
}

/// A short random suffix, so that reruns and both devices never collide.
export function unique(prefix = '') {
  return prefix + Math.random().toString(36).slice(2, 8);
}

/// Today (UTC) plus `days`, as YYYY-MM-DD.
export function isoDay(days = 0) {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

// ---------------------------------------------------------------- server

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url, child, log, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) {
      throw new Error(`shorty exited with ${child.exitCode} before answering; its log:\n${tail(log)}`);
    }
    try {
      const res = await fetch(`${url}/_health`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      throw new Error(`shorty did not answer ${url}/_health within ${timeoutMs} ms; its log:\n${tail(log)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function tail(file, lines = 40) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/// The shorty under test: `{ url, adminToken, demoCode, stop() }`. With
/// SHORTY_URL set it is that server (seeded by whoever started it);
/// otherwise a fresh one on a temporary SQLite file, seeded by the
/// demo-data example (user `ada`, 5 links, 30 days of visits).
export async function startShorty() {
  if (process.env.SHORTY_URL) {
    const url = process.env.SHORTY_URL.replace(/\/+$/, '');
    await waitHealthy(url, null, null, 5_000);
    return { url, adminToken: ADMIN_TOKEN, demoCode: process.env.SHORTY_DEMO_CODE || 'spring-sale', stop: async () => {} };
  }
  const bin = process.env.SHORTY_BIN || path.join(ROOT, 'target', 'debug', 'shorty');
  const demo = process.env.SHORTY_DEMO_BIN || path.join(ROOT, 'target', 'debug', 'examples', 'demo-data');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shorty-ui-'));
  const db = `sqlite://${dir}/shorty.db`;
  const { stdout } = await promisify(execFile)(demo, ['--database-url', db]).catch((e) => {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${demo} failed (build it with cargo build --all-targets): ${e.message}`);
  });
  const demoCode = stdout.trim().split('\n').pop();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = path.join(dir, 'shorty.log');
  const out = createWriteStream(log);
  const child = spawn(bin, ['serve'], {
    env: {
      ...process.env,
      SHORTY_LISTEN: `127.0.0.1:${port}`,
      SHORTY_BASE_URL: url,
      SHORTY_DATABASE_URL: db,
      SHORTY_ADMIN_TOKEN: ADMIN_TOKEN,
      SHORTY_LOG_FORMAT: 'pretty',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  try {
    await waitHealthy(url, child, log);
  } catch (e) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    url,
    adminToken: ADMIN_TOKEN,
    demoCode,
    log,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- browser

/// Starts the stub that stands in for external link targets, and Chromium
/// with a resolver that knows no other host than 127.0.0.1 and the stub.
/// Returns `{ browser, landing: { hits }, close() }`.
export async function openBrowser() {
  const hits = [];
  const stub = http.createServer((req, res) => {
    // The browser's own request for the stub's icon is not a visit.
    if (req.url === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    hits.push({ host: req.headers.host, url: req.url, method: req.method });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html lang="en"><title>Landing page</title><h1>The link target</h1></html>');
  });
  await new Promise((r) => stub.listen(0, '127.0.0.1', r));
  const stubPort = stub.address().port;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Playwright starts it with a fresh, empty profile (a temporary
    // --user-data-dir of its own) every time; these are the flags this
    // machine needs (its network is closed) and the closed resolver.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-features=HttpsUpgrades',
      // Nothing leaves the machine: every host name but the landing stub's
      // resolves to nothing, and everything else that is not loopback (IP
      // literals too) goes to a proxy that is not there. Loopback is never
      // proxied. (Not Playwright routes: they would make every request of
      // every page a round trip through this process and turn the HTTP
      // cache off, and they never see redirect hops; the contexts' request
      // events see every request, hops included, and fail the test.)
      `--host-resolver-rules=MAP ${LANDING_HOST}:80 127.0.0.1:${stubPort}, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1`,
      '--proxy-server=http://127.0.0.1:9',
      `--proxy-bypass-list=${LANDING_HOST}`,
    ],
  });
  return {
    browser,
    landing: { hits },
    close: async () => {
      await browser.close();
      await new Promise((r) => stub.close(r));
    },
  };
}

const pageInfo = new WeakMap();

/// A browser context of `device` (`phone` or `desktop`) for the shorty at
/// `base`. Every request to another origin is recorded (and blocked by the
/// browser's network settings); so are console errors, uncaught page errors
/// and CSP violations. `ui.assertClean()` (run after every `visit`,
/// `submit` and `check`) fails the test on any of them.
///
/// options: { javaScript: true, clipboard: false, colorScheme: 'light',
/// screenshotDir: SCREENSHOT_DIR }
export async function newUi(browser, base, device, options = {}) {
  const { javaScript = true, clipboard = false, colorScheme = 'light', screenshotDir = SCREENSHOT_DIR } = options;
  const origin = new URL(base).origin;
  const ctx = await browser.newContext({
    ...DEVICES[device],
    javaScriptEnabled: javaScript,
    colorScheme,
    acceptDownloads: true,
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  ctx.setDefaultTimeout(10_000);
  ctx.setDefaultNavigationTimeout(15_000);
  if (clipboard) {
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  }
  const problems = [];
  const allowedOrigins = new Set([origin]);
  // Documents that are meant to answer 4xx (an error page, the wrong
  // password page): Chromium logs "Failed to load resource" for them.
  const expectedErrorUrls = new Set();

  // Every request, redirect hops included (routes do not see those).
  ctx.on('request', (req) => {
    const url = req.url();
    if (!/^(https?|wss?):/.test(url)) return;
    if (!allowedOrigins.has(new URL(url).origin)) {
      let from = '?';
      try {
        from = req.frame().url();
      } catch {
        // a service worker's request has no frame
      }
      problems.push(`request to a third-party origin: ${req.method()} ${url} (${req.resourceType()}, from ${from})`);
    }
  });
  // Blocked below the page: see openBrowser. What failed, and how:
  const failed = [];
  ctx.on('requestfailed', (req) => failed.push({ url: req.url(), error: req.failure()?.errorText }));
  // CSP violations, as the page sees them (with JavaScript on); Chromium
  // also logs each one as a console error, which covers pages without it.
  await ctx.exposeBinding('__shortyCspViolation', ({ page }, v) => {
    problems.push(`CSP violation on ${page.url()}: ${v.directive} blocked ${v.blocked || '(inline)'} at ${v.source}:${v.line} ${v.sample ? `“${v.sample}”` : ''}`);
  });
  await ctx.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__shortyCspViolation({
        directive: e.effectiveDirective || e.violatedDirective,
        blocked: e.blockedURI,
        source: e.sourceFile,
        line: e.lineNumber,
        sample: e.sample,
      });
    });
  });

  const watch = (page) => {
    pageInfo.set(page, { device, javaScript });
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const where = msg.location()?.url || '';
      const text = `console error on ${page.url()}: ${msg.text()}${where ? ` (${where})` : ''}`;
      if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text())) {
        // Fine for a document meant to answer 4xx (known by check time).
        problems.push({ text, unlessExpected: where });
      } else {
        problems.push(text);
      }
    });
    page.on('pageerror', (err) => problems.push(`uncaught error on ${page.url()}: ${err.message}`));
  };
  ctx.on('page', watch);
  const page = await ctx.newPage();

  const ui = {
    ctx,
    page,
    device,
    base,
    problems,
    /// Requests that failed (blocked ones among them): `{ url, error }`.
    failed,
    /// Lets requests to `externalOrigin` through (the landing stub).
    allowOrigin(externalOrigin) {
      allowedOrigins.add(new URL(externalOrigin).origin);
    },
    /// Marks `url` (absolute or a path) as a document meant to answer 4xx.
    expectErrorStatus(url) {
      expectedErrorUrls.add(new URL(url, base).href);
    },
    /// Opens `pathOrUrl`, checks the document's status (default 200) and
    /// then the page: with `name`, `check(name)` (a screenshot, axe, no
    /// sideways scrolling, `assertClean()`); without, all that but the
    /// screenshot (every page visited gets axe).
    /// `check: false` skips that (the harness's own bad pages).
    async visit(pathOrUrl, { status = 200, name, check = true } = {}) {
      const url = new URL(pathOrUrl, base).href;
      if (status >= 400) ui.expectErrorStatus(url);
      const res = await page.goto(url, { waitUntil: 'load' });
      assert.ok(res, `no response for ${url}`);
      assert.equal(res.status(), status, `GET ${url}: status ${res.status()}, expected ${status}`);
      if (check) await ui.loaded(name);
      return res;
    },
    /// Runs `action` (a click that submits a form, say), waits for the
    /// document it leads to, checks its status (default 200), then the
    /// page as `visit` does.
    async submit(action, { status = 200, name, check = true } = {}) {
      let res;
      try {
        [res] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), action()]);
      } catch (e) {
        await page.waitForTimeout(200);
        const seen = problems.map((p) => (typeof p === 'string' ? p : p.text));
        if (!seen.length) throw e;
        throw new Error(`${e.message.split('\n')[0]}\nrecorded meanwhile:\n  ${seen.join('\n  ')}`, { cause: e });
      }
      assert.ok(res, 'the action did not load a new document');
      if (status >= 400) ui.expectErrorStatus(res.url());
      assert.equal(res.status(), status, `${res.request().method()} ${res.url()}: status ${res.status()}, expected ${status}`);
      if (check) await ui.loaded(name);
      return res;
    },
    /// What `visit` and `submit` run on the document they loaded.
    async loaded(name) {
      if (name) return ui.check(name);
      const t0 = Date.now();
      const where = new URL(page.url()).pathname;
      await assertNoSidewaysScroll(page, where);
      await checkA11y(page, where);
      if (process.env.UI_TIMING) console.log(`timing (auto) ${new URL(page.url()).pathname}-${device}: axe ${Date.now() - t0} ms`);
      ui.assertClean();
    },
    /// Fails on anything recorded so far (and forgets it).
    assertClean() {
      const found = problems
        .splice(0)
        .filter((p) => typeof p === 'string' || !expectedErrorUrls.has(p.unlessExpected))
        .map((p) => (typeof p === 'string' ? p : p.text));
      assert.deepEqual(found, [], `the page did something it must not:\n  ${found.join('\n  ')}`);
    },
    /// The page as it is now: nothing third-party, no console or CSP
    /// errors, axe finds nothing serious, and a full-page screenshot
    /// `<name>-<device>.png`. Also on pages changed in place (an opened
    /// <details>, a focused field, the copy button's feedback).
    async check(name) {
      await page.waitForLoadState('load');
      // The screenshot first, so that a page failing a check below is there
      // to look at.
      const t0 = Date.now();
      await screenshot(page, name, screenshotDir);
      const t1 = Date.now();
      await assertNoSidewaysScroll(page, name);
      await checkA11y(page, name);
      if (process.env.UI_TIMING) console.log(`timing ${name}-${device}: screenshot ${t1 - t0} ms, axe ${Date.now() - t1} ms`);
      ui.assertClean();
    },
    async close() {
      await ctx.close();
    },
  };
  return ui;
}

// ---------------------------------------------------------------- axe

/// Per browser context: the states already checked, and axe's answer.
const axeSeen = new WeakMap();

const NO_TIMERS_SHIM = `(() => {
  const soon = (fn, ...args) => { Promise.resolve().then(() => fn(...args)); return 1; };
  window.setTimeout = soon;
  window.clearTimeout = () => {};
  window.requestAnimationFrame = (fn) => soon(fn, performance.now());
  window.requestIdleCallback = (fn) => soon(fn, { didTimeout: false, timeRemaining: () => 50 });
})()`;

/// Runs axe-core on `page` and fails on any `serious` or `critical`
/// violation. axe is evaluated through the DevTools protocol
/// (`Runtime.evaluate`), which the page's CSP does not govern, so the
/// pages are checked under their real policy (a script tag would be
/// refused by `script-src 'self'`).
export async function checkA11y(page, name) {
  // Through CDP: works with the page's JavaScript disabled too.
  const cdp = await page.context().newCDPSession(page);
  try {
    const evaluate = async (expression) => {
      const r = await cdp.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
      if (r.exceptionDetails) {
        throw new Error(`axe on ${name}: ${r.exceptionDetails.exception?.description || r.exceptionDetails.text}`);
      }
      return r.result.value;
    };
    // The same document in the same state (markup, focus, width, colour
    // scheme) gives the same answer: a page seen again in this browser
    // context (the sign-in page, a list visited twice) is not checked twice.
    const state = await evaluate(`[innerWidth, matchMedia('(prefers-color-scheme: dark)').matches,
      document.activeElement && document.activeElement.id, document.documentElement.outerHTML].join('\\n')`);
    const key = createHash('sha256').update(state).digest('hex');
    let seen = axeSeen.get(page.context());
    if (!seen) axeSeen.set(page.context(), (seen = new Map()));
    if (seen.has(key)) return seen.get(key);
    if ((await evaluate('typeof window.axe')) !== 'object') {
      await evaluate(AXE_SOURCE);
    }
    if (pageInfo.get(page)?.javaScript === false) {
      // With the page's scripts disabled, DevTools evaluation still runs but
      // timers, rAF and task queues never fire, and axe waits on them; run
      // its callbacks as promise jobs instead (which do run). Nothing of the
      // page's own uses timers: none of its scripts ran.
      await evaluate(NO_TIMERS_SHIM);
    }
    const result = await evaluate(`(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return {
        engine: r.testEngine,
        url: r.url,
        violations: r.violations.map((v) => ({
          id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
          nodes: v.nodes.map((n) => ({ target: n.target.join(' '), html: n.html, summary: n.failureSummary })),
        })),
      };
    })()`);
    assert.equal(result?.engine?.name, 'axe-core', `axe did not run on ${name}`);
    const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    const minor = result.violations.filter((v) => !serious.includes(v));
    const info = pageInfo.get(page);
    const label = `${name}${info ? ` (${info.device})` : ''}`;
    if (minor.length) {
      console.log(`axe, ${label}: ${minor.map((v) => `${v.impact} ${v.id} ×${v.nodes.length}`).join(', ')}`);
    }
    const text = serious
      .map(
        (v) =>
          `[${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n` +
          v.nodes
            .slice(0, 5)
            .map((n) => `    at ${n.target}: ${n.html.slice(0, 200)}\n      ${(n.summary || '').replace(/\n/g, '\n      ')}`)
            .join('\n'),
      )
      .join('\n  ');
    assert.equal(serious.length, 0, `axe found serious accessibility problems on ${label} ${result.url}:\n  ${text}`);
    seen.set(key, result);
    return result;
  } finally {
    await cdp.detach().catch(() => {});
  }
}

// ---------------------------------------------------------------- layout

/// A page never scrolls sideways: at phone width everything fits.
async function assertNoSidewaysScroll(page, name) {
  const wide = await page.evaluate(() => {
    const doc = document.documentElement;
    if (doc.scrollWidth <= doc.clientWidth + 1) return null;
    const over = [...document.body.querySelectorAll('*')]
      .filter((e) => e.getBoundingClientRect().right > doc.clientWidth + 1)
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.className && typeof e.className === 'string' ? `.${e.className.trim().split(/\s+/).join('.')}` : ''}`);
    return { scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, over };
  });
  assert.equal(wide, null, `${name} scrolls sideways: ${JSON.stringify(wide)}`);
}

// ---------------------------------------------------------------- screenshots

/// Saves a full-page PNG of `page` as `<name>-<device>.png` in `dir`
/// (default SCREENSHOT_DIR).
export async function screenshot(page, name, dir = SCREENSHOT_DIR) {
  const info = pageInfo.get(page);
  const device = info?.device ?? (page.viewportSize()?.width < 600 ? 'phone' : 'desktop');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${device}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled', caret: 'hide' });
  return file;
}

// ---------------------------------------------------------------- small helpers

/// PNG magic bytes.
export function isPng(buf) {
  return buf.length > 8 && buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
}

/// Whether `text` is an SVG document (optional XML declaration, then <svg).
export function isSvg(text) {
  return /^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<svg[\s>]/s.test(text) && /<\/svg>\s*$/.test(text);
}
