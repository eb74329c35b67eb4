/**
 * What the browser suites (console/browser.alone.ts, citizens/browser.alone.ts) share: Debian's
 * Chromium through playwright-core, headless; browser contexts that collect CSP violations; the
 * axe-core check for WCAG 2.1 AA; the test CA and HTTPS port the gateway and the login EMULATORS
 * use; and a staff member's login to the console through the Context Handler EMULATOR.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type { EmulatedPerson } from '../../gateway/emulators/context-handler-oidc.ts';
import { TestCa } from '../../gateway/emulators/test-ca.ts';

const CHROMIUM = process.env.TILLID_CHROMIUM ?? '/usr/bin/chromium';
const AXE = readFileSync(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

/** The first day of the month after next from a business date: a start date drafts may use. */
export function startAfter(date: string): string {
  const [y, m] = date.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m + 1, 1)).toISOString().slice(0, 10);
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

export interface HttpsSite {
  /** Where the gateway will listen (a free port) and its public URL, https://localhost:port. */
  readonly port: number;
  readonly publicUrl: string;
  /** A server certificate for localhost and 127.0.0.1, for the login EMULATORS. */
  readonly server: { readonly certPem: string; readonly keyPem: string };
  /** The test CA's certificate, written to a file the gateway is told to trust. */
  readonly caFile: string;
}

/** A throwaway CA, a certificate for the login EMULATORS, and the port the gateway will take. */
export async function httpsSite(dir: string): Promise<HttpsSite> {
  const ca = await TestCa.create();
  const server = await ca.issueServer(['localhost', '127.0.0.1']);
  const caFile = join(dir, 'idp-ca.pem');
  writeFileSync(caFile, ca.certPem);
  const port = await freePort();
  return { port, publicUrl: `https://localhost:${port}`, server, caFile };
}

export interface BrowserKit {
  readonly browser: Browser;
  /** Content Security Policy violations any page reported: the suites assert none at the end. */
  readonly violations: string[];
  /** A fresh context (its own cookies): one per person. Closed when the test ends. */
  newContext(): Promise<BrowserContext>;
}

/**
 * Launches Chromium for the test (closed when it ends). A missing browser fails the test, saying
 * how to get one, as the broker and Docker suites do.
 */
export async function startBrowser(
  t: TestContext,
  o: { readonly width: number; readonly defaultTimeoutMs: number },
): Promise<BrowserKit> {
  assert.ok(
    existsSync(CHROMIUM),
    `no Chromium at ${CHROMIUM}: apt-get install chromium (or bash .ci/run), or set TILLID_CHROMIUM`,
  );
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const violations: string[] = [];
  const newContext = async (): Promise<BrowserContext> => {
    // The gateway and the EMULATORS use throwaway test CAs the browser does not know.
    const context = await browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: o.width, height: 800 },
      locale: 'da-DK',
    });
    context.on('page', (p) =>
      p.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      }),
    );
    // Writes wait for finality; on a loaded machine that can take longer than the default 30 s.
    context.setDefaultTimeout(o.defaultTimeoutMs);
    t.after(() => context.close());
    return context;
  };
  return { browser, violations, newContext };
}

/** axe-core in the page (evaluated over the DevTools protocol, so the page's CSP stays strict). */
export async function accessible(page: Page, what: string): Promise<void> {
  await page.evaluate(AXE);
  const result = (await page.evaluate(() =>
    // biome-ignore lint/suspicious/noExplicitAny: axe is the global the script above defined
    (globalThis as any).axe.run((globalThis as any).document, {
      runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'],
    }),
  )) as { violations: { id: string; help: string; nodes: { html: string }[] }[] };
  assert.deepEqual(
    result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.html).join(' | ')})`),
    [],
    `WCAG 2.1 AA on ${what}`,
  );
}

/**
 * Chromium aborts a navigation with ERR_NETWORK_CHANGED when the machine's network interfaces
 * change (other suites on a shared machine create and remove Docker networks): such a step is
 * repeated, any other failure is not.
 */
export async function steady<T>(step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (e) {
      if (attempt >= 4 || !/ERR_NETWORK_CHANGED/.test(String((e as Error).message))) throw e;
    }
  }
}

/**
 * A staff member logs in to the console in `page` through the Context Handler EMULATOR and lands
 * on the overview. The console's pages carry a strict CSP (no inline script); a refused login
 * fails with the page's own words, not a timeout.
 */
export async function staffLogin(page: Page, publicUrl: string, who: EmulatedPerson): Promise<void> {
  const answer = await page.goto(`${publicUrl}/konsol/`);
  const csp = answer?.headers()['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  await page.getByRole('link', { name: 'Log ind som medarbejder' }).click();
  await page.getByText('EMULATOR af Context Handler').waitFor();
  await page.locator(`input[value="${who.sub}"]`).check();
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'domcontentloaded' }),
    page.getByRole('button', { name: 'Log ind' }).click(),
  ]);
  const h1 = (await page.locator('h1').textContent())?.trim();
  if (h1 !== 'Overblik')
    assert.fail(`expected "Overblik", got "${h1}": ${await page.locator('main').textContent()}`);
}
