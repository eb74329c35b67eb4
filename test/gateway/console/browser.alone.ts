/**
 * The web console in a real browser (Debian's Chromium through playwright-core, headless) against
 * the gateway over HTTPS in front of a real node process, with people logging in through the
 * Context Handler emulator (OIDC, code + PKCE, signed ID token). Every page visited is checked
 * with axe-core for WCAG 2.1 AA and for CSP violations. A caseworker opens a case, drafts three
 * contracts under it (a placement, a taxi that ends with it, school support that pauses), proposes
 * activation and is refused when approving (no privilege, said in Danish); a centre chief in a
 * second browser context approves; the care home's employee co-signs in a third, the placement
 * runs, the employee uploads a report, and the month's payment decision appears live in both the
 * caseworker's and the care home's open pages; the school support is activated too; the case
 * overview shows all three; termination shows its cascade and then performs it (taxi ended, school
 * support paused). Hostile text (markup, script, a CPR-like number) is refused or shown escaped,
 * and changes nothing.
 *
 * Screenshots go to a temporary directory, or to TILLID_CONSOLE_SCREENSHOTS (the README's come from
 * `TILLID_CONSOLE_SCREENSHOTS=gateway/console/screenshots node --test test/gateway/console/browser.alone.ts`).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { connect, generateKeyPair } from '../../../client/index.ts';
import { bothParties, kOf } from '../../../client/policies.ts';
import {
  ContextHandlerEmulator,
  type EmulatedPerson,
} from '../../../gateway/emulators/context-handler-oidc.ts';
import { LogRing } from '../../../gateway/log-ring.ts';
import { gatewayLogger } from '../../../gateway/main.ts';
import { readNodeConfigKey } from '../../../node/custody/key-file.ts';
import { tempDir } from '../../fixtures/node.ts';
import { initLocalNetwork, type NodeProcess, startNodeProcess, stopNodeProcess } from '../../process.ts';
import { accessible, httpsSite, staffLogin, startAfter, startBrowser } from '../browser-kit.ts';
import { CARE_HOME, OTHER_PROVIDER, privilege, startGatewayFixture } from '../harness.ts';

const MUNICIPALITY = '29189846';

const person = (sub: string, name: string, cvr: string, roles: string[]): EmulatedPerson => ({
  sub,
  name,
  cvr,
  privileges: roles.map((r) => privilege(r)),
});
const CASEWORKER = person('sub-sagsbehandler-1', 'Sara Sagsbehandler', MUNICIPALITY, ['caseworker']);
// Hostile text in the one place a person's own words reach every page: the name the IdP asserts.
const CHIEF = person('sub-centerchef-1', 'Carl <script>alert(1)</script> Centerchef', MUNICIPALITY, [
  'centre-chief',
]);
const AUDITOR = person('sub-revisor-1', 'Rikke Revisor', MUNICIPALITY, ['auditor']);
// A caseworker whose privilege covers only KLE subjects 28.* (as Context Handler asserts a constraint).
const KLE_WORKER: EmulatedPerson = {
  sub: 'sub-sagsbehandler-kle',
  name: 'Kim Kle',
  cvr: MUNICIPALITY,
  privileges: [privilege('caseworker', ['28.*'])],
};
const CARE_WORKER = person('sub-botilbud-1', 'Bo Botilbud', CARE_HOME, ['provider-representative']);
// The school-support firm: a third provider in the case, with its own employee.
const SCHOOL_FIRM = '11223344';
const SCHOOL_WORKER = person('sub-skolestoette-1', 'Sif Skolestøtte', SCHOOL_FIRM, [
  'provider-representative',
]);

test('console: login, case overview, drafting, approvals by privilege, hostile text', async (t) => {
  const { violations, newContext } = await startBrowser(t, { width: 1000, defaultTimeoutMs: 90_000 });
  const dir = tempDir(t, 'tillid-console-');
  const shots = process.env.TILLID_CONSOLE_SCREENSHOTS ?? join(dir, 'screenshots');
  mkdirSync(shots, { recursive: true });

  const [config] = await initLocalNetwork(join(dir, 'network'), 1, 'tillid-console', 23, [
    '--business-days-per-block',
    '1',
  ]);
  const nodes: NodeProcess[] = [await startNodeProcess(config as string)];
  t.after(() => Promise.all(nodes.map((n) => stopNodeProcess(n, 'SIGKILL'))));

  const { port, publicUrl, server, caFile } = await httpsSite(dir);
  const idp = await ContextHandlerEmulator.start({
    cert: server.certPem,
    key: server.keyPem,
    persons: [CASEWORKER, CHIEF, CARE_WORKER, SCHOOL_WORKER, AUDITOR, KLE_WORKER],
    clients: { 'tillid-konsol': [`${publicUrl}/konsol/callback`] },
  });
  t.after(() => idp.stop());

  // The gateway's warnings go to its log ring, which the operator's page shows.
  const logRing = new LogRing();
  const g = await startGatewayFixture<'esdh'>(t, {
    components: { log: gatewayLogger('warn', logRing, false), logRing },
    municipalities: [
      {
        cvr: MUNICIPALITY,
        nodes: [nodes[0]?.url as string],
        authority: readNodeConfigKey(config as string),
      },
    ],
    providers: [CARE_HOME, OTHER_PROVIDER, SCHOOL_FIRM],
    register: true,
    systems: { esdh: { cvr: MUNICIPALITY, privileges: [privilege('director')] } },
    config: {
      // The genesis the gateway trusts: the auditor's view shows the chain verified against it.
      genesisFile: join(dir, 'network', 'genesis.json'),
      listen: { host: '127.0.0.1', port },
      console: {
        issuer: idp.issuer,
        clientId: 'tillid-konsol',
        publicUrl,
        issuerCaFile: caFile,
      },
    },
  });
  // The municipality's template, defined by its case system (a director's privilege).
  const esdh = { token: await g.token(g.systems.esdh) };
  const template = await g.call('POST', '/v1/templates?wait=true', {
    as: esdh,
    body: {
      code: 'anbringelse',
      releaseWithheldOnReport: true,
      // The business clock runs a day per block, so a motion's lifetime is counted in blocks; on a
      // loaded machine the people of this test take long enough that 60 let the activation lapse.
      approvalLifetimeDays: 365,
      policies: {
        activate: bothParties('centre-chief'),
        amend: kOf(1, 'centre-chief', 'municipality'),
        suspend: kOf(1, 'centre-chief', 'municipality'),
        resume: kOf(1, 'centre-chief', 'municipality'),
        terminate: kOf(1, 'centre-chief', 'municipality'),
      },
    },
  });
  assert.equal(template.status, 200, JSON.stringify(template.body));
  const network = await g.call('GET', '/v1/network', { as: esdh });
  const start = startAfter(network.body.clock.businessDate);

  /**
   * Clicks what submits a form or follows a link and waits for the page it leads to, whose heading
   * must be `heading`: a refusal fails the test with the page's own words, not a timeout.
   */
  const go = async (page: Page, target: Locator, heading: string) => {
    await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }), target.click()]);
    const h1 = (await page.locator('h1').textContent())?.trim();
    if (h1 !== heading)
      assert.fail(`expected "${heading}", got "${h1}": ${await page.locator('main').textContent()}`);
  };
  const shot = (page: Page, name: string) => page.screenshot({ path: join(shots, `${name}.png`) });
  const login = async (context: BrowserContext, who: EmulatedPerson) => {
    const page = await context.newPage();
    await staffLogin(page, publicUrl, who);
    return page;
  };

  // 1. The caseworker logs in; the session cookie is HttpOnly, Secure, SameSite=Strict.
  const caseworkerContext = await newContext();
  const loginPage = await caseworkerContext.newPage();
  await loginPage.goto(`${publicUrl}/konsol/`);
  await accessible(loginPage, 'the login page');
  await shot(loginPage, 'login');
  await loginPage.close();
  const cw = await login(caseworkerContext, CASEWORKER);
  const cookie = (await caseworkerContext.cookies()).find((c) => c.name === '__Host-tillid-konsol');
  assert.ok(cookie, 'a session cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.secure, true);
  assert.equal(cookie.sameSite, 'Strict');
  await accessible(cw, 'the overview');
  // The session reaches only what people may call: not the systems' API, and no form without its token.
  assert.equal((await caseworkerContext.request.get(`${publicUrl}/v1/contracts`)).status(), 401);
  const forged = await caseworkerContext.request.post(`${publicUrl}/konsol/sag`, {
    form: { sag: '27.12.04-G01-7-26' },
    maxRedirects: 0,
  });
  assert.equal(forged.status(), 403);
  assert.match(await forged.text(), /Formularen er udløbet eller kom ikke fra konsollen/);
  assert.match(await forged.text(), /Kode: <code>CSRF<\/code>/, 'the documented code');

  // A forged login answer is refused (401) and logged as a warning, without the code or the state.
  const badLogin = await caseworkerContext.request.get(
    `${publicUrl}/konsol/callback?code=forged-code-123&state=forged-state`,
    { maxRedirects: 0 },
  );
  assert.equal(badLogin.status(), 401);

  // The operator's first view: the network as the gateway sees it, no open membership proposals,
  // and the gateway's recent warnings — the refused login among them, and nothing it was sent.
  await go(cw, cw.getByRole('link', { name: 'Netværk' }), 'Netværket');
  await cw.locator('tbody tr', { hasText: 'oppe' }).first().waitFor();
  await cw.getByText('Ingen åbne forslag.').waitFor();
  const logRows = cw.locator('table.log tbody tr');
  await logRows.filter({ hasText: 'console login refused' }).first().waitFor();
  assert.match((await logRows.first().textContent()) ?? '', /advarsel/);
  assert.doesNotMatch((await cw.locator('table.log').textContent()) ?? '', /forged-code|forged-state/);
  await accessible(cw, 'the network page');

  // 2. Hostile case numbers are refused in Danish, shown escaped, and nothing changes.
  for (const [input, says] of [
    ['<script>alert(1)</script>', 'Et sagsnummer er 1-40 tegn'],
    ['010203-1234', 'ligner et CPR-nummer'],
  ] as const) {
    await cw.goto(`${publicUrl}/konsol/`);
    await cw.getByLabel('Sagsnummer').fill(input);
    await go(cw, cw.getByRole('button', { name: 'Åbn sag' }), 'Handlingen blev afvist');
    await cw.getByRole('alert').filter({ hasText: says }).waitFor();
    await cw.locator('p.hint code', { hasText: 'CASE_NUMBER_INVALID' }).waitFor();
    assert.equal(await cw.locator('script:not([src])').count(), 0, 'no inline script in the page');
  }
  await shot(cw, 'refused');

  // 3. Open a case and draft three contracts under it: the placement, a taxi that ends with it,
  // and school support that the placement's end only pauses (once it runs).
  await cw.goto(`${publicUrl}/konsol/`);
  await cw.getByLabel('Sagsnummer').fill('27.12.04-G01-7-26');
  await go(cw, cw.getByRole('button', { name: 'Åbn sag' }), 'Sagens overblik');
  assert.doesNotMatch(cw.url(), /27\.12\.04/, 'the case number never appears in a URL');
  const caseUrl = cw.url();
  const draft = async (
    provider: string,
    item: string,
    monthly: string,
    parent?: { id: string; onEnd: 'terminate' | 'suspend' },
  ) => {
    await cw.getByLabel('Skabelon (kode, fx anbringelse)').fill('anbringelse');
    await cw.getByLabel('Leverandør (CVR)').fill(provider);
    await cw.getByLabel('Start (dag 1–28)').fill(start);
    await cw.getByLabel('Ydelse (kode)').fill(item);
    await cw.getByLabel('Pris pr. måned (kr.)').fill(monthly);
    // The business clock runs a day per block: a year's contract could expire while a loaded
    // machine runs this test, so the placement and its taxi run ten years.
    await cw.getByLabel('Måneder', { exact: true }).fill('120');
    if (parent) {
      await cw.getByLabel('Afhænger af').selectOption(parent.id);
      await cw.getByLabel('Når den ophører').selectOption(parent.onEnd);
    }
    await go(cw, cw.getByRole('button', { name: 'Opret kladde' }), 'Sagens overblik');
  };
  await draft(CARE_HOME, 'ophold', '45000');
  const placementId = (await cw.locator('section.contract').getAttribute('data-contract')) as string;
  await draft(OTHER_PROVIDER, 'taxi', '3000', { id: placementId, onEnd: 'terminate' });
  await draft(SCHOOL_FIRM, 'skolestoette', '6000', { id: placementId, onEnd: 'suspend' });
  const sections = cw.locator('section.contract');
  assert.equal(await sections.count(), 3, 'the case shows all three contracts');
  const sectionOf = (page: Page, provider: string) =>
    page.locator('section.contract', { hasText: `leverandør CVR ${provider}` });
  const idOf = async (provider: string) =>
    ((await sectionOf(cw, provider).getAttribute('data-contract')) as string).slice(0, 12);
  const [taxiId, schoolId] = [await idOf(OTHER_PROVIDER), await idOf(SCHOOL_FIRM)];
  const placement = sectionOf(cw, CARE_HOME);
  assert.match((await placement.textContent()) ?? '', /45\.000,00 kr\./);
  assert.match((await sectionOf(cw, OTHER_PROVIDER).textContent()) ?? '', /taxi: 3\.000,00 kr\./);
  assert.match((await sectionOf(cw, SCHOOL_FIRM).textContent()) ?? '', /skolestoette: 6\.000,00 kr\./);
  for (const [provider, onEnd] of [
    [OTHER_PROVIDER, 'ophører'],
    [SCHOOL_FIRM, 'sættes i bero'],
  ] as const)
    assert.match(
      (await sectionOf(cw, provider).textContent()) ?? '',
      new RegExp(`Afhænger af\\s*${placementId.slice(0, 12)} \\(ved ophør: ${onEnd}\\)`),
    );
  // A draft ends with its parent whatever it was drafted to do (the chain's rule): so far ending
  // the placement would end both.
  assert.equal(
    (await placement.locator('.cascade').textContent())?.trim(),
    `Opsigelse vil også: opsige kontrakt ${taxiId}; opsige kontrakt ${schoolId}.`,
  );
  await accessible(cw, 'the case overview');

  // 4. Propose activation; the caseworker may not approve, and is told so in Danish.
  await placement.getByLabel('Handling').selectOption('activate');
  await go(cw, placement.getByRole('button', { name: 'Foreslå' }), 'Sagens overblik');
  const motion = cw
    .locator('section.contract', { hasText: `leverandør CVR ${CARE_HOME}` })
    .locator('li.motion');
  assert.match(
    (await motion.textContent()) ?? '',
    /mangler 1 centerchef \(kommunen\) og 1 leverandørrepræsentant \(leverandøren\)/,
  );
  await go(cw, motion.getByRole('button', { name: 'Godkend' }), 'Handlingen blev afvist');
  await cw
    .getByRole('alert')
    .filter({
      hasText:
        'Du har ikke en rettighed, der tillader at godkende. Forslaget mangler: 1 centerchef (kommunen) og 1 leverandørrepræsentant (leverandøren).',
    })
    .waitFor();
  await accessible(cw, 'the refusal');
  await shot(cw, 'not-permitted');

  // 5. The centre chief (another person, another browser) approves; their name is shown escaped.
  const chief = await login(await newContext(), CHIEF);
  assert.match(
    (await chief.locator('header .who').textContent()) ?? '',
    /Carl <script>alert\(1\)<\/script> Centerchef/,
  );
  assert.equal(await chief.locator('script:not([src])').count(), 0);
  await chief.goto(caseUrl);
  const chiefMotion = chief
    .locator('section.contract', { hasText: `leverandør CVR ${CARE_HOME}` })
    .locator('li.motion');
  await go(chief, chiefMotion.getByRole('button', { name: 'Godkend' }), 'Sagens overblik');
  assert.match(
    (await chief
      .locator('section.contract', { hasText: `leverandør CVR ${CARE_HOME}` })
      .locator('li.motion')
      .textContent()) ?? '',
    /mangler 1 leverandørrepræsentant \(leverandøren\)/,
  );

  // 6. The care home's employee sees only its own contract and approves; the placement runs.
  const care = await login(await newContext(), CARE_WORKER);
  const rows = care.locator('tbody tr');
  assert.equal(await rows.count(), 1, 'a provider sees its own contracts only');
  await go(care, rows.getByRole('link'), `Kontrakt ${(await rows.getByRole('link').textContent())?.trim()}`);
  // The placement has a case reference, so the approval leads back to the case overview — which,
  // for the provider, shows its own contract of the case only.
  await go(care, care.getByRole('button', { name: 'Godkend' }), 'Sagens overblik');
  assert.equal(
    await care.locator('section.contract').count(),
    1,
    'the provider sees its own contract of the case',
  );
  await care.locator('section.contract', { hasText: `leverandør CVR ${CARE_HOME} · aktiv` }).waitFor();
  await accessible(care, 'the provider’s case page');
  // The care home's employee sends a status report for an overdue month (one whose decision has
  // passed, so its period has surely begun): the file goes to the document store, its commitment
  // on chain; the month then shows as received. (Its withheld payment is released only once no
  // report is missing: on this fast clock later months are overdue too.)
  const careSection = care.locator('section.contract', { hasText: `leverandør CVR ${CARE_HOME}` });
  const overdue = careSection.locator('option', { hasText: 'forsinket' });
  for (let i = 0; (await overdue.count()) === 0; i++) {
    assert.ok(i < 120, 'a reporting month falls overdue');
    await care.waitForTimeout(500);
    await care.reload();
  }
  const period = await overdue.first().getAttribute('value');
  await careSection.getByLabel('Periode', { exact: true }).selectOption(period as string);
  const report = Buffer.from('Statusrapport <script>alert(1)</script> – the file stays off chain');
  await careSection.getByLabel('Rapport (fil)').setInputFiles({
    name: 'statusrapport.txt',
    mimeType: 'text/plain',
    buffer: report,
  });
  await go(care, careSection.getByRole('button', { name: 'Indsend rapport' }), 'Sagens overblik');
  await care
    .locator('section.contract li', { hasText: `Periode ${period} (forfald` })
    .filter({ hasText: 'modtaget' })
    .waitFor();
  await accessible(care, 'the provider’s case page after a report');

  // 6'. The month's payment decision appears live in both open pages — the caseworker's and the
  // provider's — from the event stream, neither page reloading: the next month decided after both
  // pages show what they show now must appear in each of them in place.
  await cw.goto(caseUrl);
  const watching = [cw, care];
  const moved = new Map<Page, number>(watching.map((p) => [p, 0]));
  for (const page of watching) {
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) moved.set(page, (moved.get(page) ?? 0) + 1);
    });
    // "Live: …" once the stream is open; "Opdateret …" once an event has refreshed the page.
    await page
      .getByRole('status')
      .filter({ hasText: /Live: følger netværket|Opdateret/ })
      .waitFor();
  }
  const decisions = (page: Page) =>
    sectionOf(page, CARE_HOME).locator('li', {
      hasText: /Periode \d+ \(\d{4}-\d{2}-\d{2}\): (udbetalt|tilbageholdt)/,
    });
  const shownPeriods = async (page: Page) =>
    (await decisions(page).allTextContents()).map((text) => Number(/Periode (\d+)/.exec(text)?.[1]));
  const next = Math.max(0, ...(await shownPeriods(cw)), ...(await shownPeriods(care))) + 1;
  for (const page of watching)
    await decisions(page)
      .filter({ hasText: new RegExp(`Periode ${next} \\(`) })
      // A month is about twenty blocks on this clock: bounded well above that on a loaded machine.
      .waitFor({ timeout: 180_000 });
  assert.deepEqual([...moved.values()], [0, 0], 'both pages updated in place, not reloaded');

  // 6a. The provider's payment overview: the month that decided the period whose report was
  // missing shows it withheld and why. The chain decides a month at its due day, or — when the
  // contract was activated after it — on the day of activation, so the person walks back from the
  // current business month (the page's default) to find it; and the reports still due are listed.
  await care.goto(`${publicUrl}/konsol/betalinger`);
  let withheldRow: Locator | undefined;
  for (let back = 0; back < 24 && !withheldRow; back++) {
    const row = care
      .locator('table.decisions tbody tr', { hasText: `${period} (` })
      .filter({ hasText: 'tilbageholdt' });
    if ((await row.count()) > 0) withheldRow = row.first();
    else await go(care, care.getByRole('link', { name: 'Forrige måned' }), 'Betalinger og rapporter');
  }
  assert.ok(
    withheldRow,
    `the decision on period ${period} in the provider's overview: ${await care.locator('main').textContent()}`,
  );
  assert.match((await withheldRow.textContent()) ?? '', /tilbageholdt.*statusrapport mangler/);
  assert.match(
    (await care.locator('p.summary').textContent()) ?? '',
    /\d+ frigivet i alt .* kr\.; \d+ tilbageholdt\./,
  );
  await accessible(care, 'the payment overview');
  await shot(care, 'payments');
  // A month that is not a month is refused with the documented code, and shown as text.
  const badMonth = await care.goto(
    `${publicUrl}/konsol/betalinger?maaned=%3Cscript%3Ealert(1)%3C%2Fscript%3E`,
  );
  assert.equal(badMonth?.status(), 400);
  await care.locator('p.hint code', { hasText: 'FORM_INVALID' }).waitFor();
  assert.equal(await care.locator('script:not([src])').count(), 0);

  // 6b. The auditor: the chain verified against the genesis, the placement's timeline with who
  // approved in which role at which height, and the report checked against its commitment — the
  // file sent (match), another file (mismatch), a hostile file name shown escaped.
  const auditorContext = await newContext();
  const auditor = await login(auditorContext, AUDITOR);
  await go(auditor, auditor.getByRole('link', { name: 'Revision' }), 'Revision');
  assert.match(
    (await auditor.locator('p.verified').textContent()) ?? '',
    /Verificeret: blok \d+ bærer 1 af 1 myndigheders underskrifter \(mindst 1 kræves\) og autoritetssættet begynder ved den betroede genesis\./,
  );
  await accessible(auditor, 'the audit overview');
  await shot(auditor, 'audit-chain');
  const placementLink = auditor.locator('li', { hasText: `leverandør CVR ${CARE_HOME}` }).getByRole('link');
  const auditHeading = `Revision af kontrakt ${(await placementLink.textContent())?.replace('Kontrakt ', '').trim()}`;
  await go(auditor, placementLink, auditHeading);
  const timeline = auditor.locator('table.timeline tbody');
  for (const who of [
    /godkendelse\s*aktivering, af centerchef \(CVR 29189846\)/,
    /godkendelse\s*aktivering, af leverandørrepræsentant \(CVR \d+\)/,
  ])
    assert.match((await timeline.textContent()) ?? '', who);
  assert.match(
    (await timeline.locator('tr', { hasText: 'godkendelse' }).first().locator('td').first().textContent()) ??
      '',
    /^\d+$/,
    'each approval with its height',
  );
  await accessible(auditor, 'the contract timeline');
  const check = async (name: string, buffer: Buffer, says: string) => {
    const option = auditor.locator('#tjek-dok option', { hasText: `statusrapport for periode ${period} ` });
    await auditor
      .getByLabel('Dokument på kæden')
      .selectOption((await option.getAttribute('value')) as string);
    await auditor.getByLabel('Fil at kontrollere').setInputFiles({ name, mimeType: 'text/plain', buffer });
    await go(auditor, auditor.getByRole('button', { name: 'Kontrollér fil' }), auditHeading);
    await auditor.getByRole('alert').filter({ hasText: says }).waitFor();
  };
  await check('statusrapport.txt', report, 'Filen svarer til fingeraftrykket på kæden.');
  await accessible(auditor, 'a matching document check');
  await shot(auditor, 'audit');
  const hostileName = '<img src=x onerror=alert(1)>.txt';
  await check(hostileName, Buffer.from('en anden fil'), 'Filen svarer IKKE til fingeraftrykket på kæden.');
  assert.match((await auditor.getByRole('alert').textContent()) ?? '', /<img src=x onerror=alert\(1\)>\.txt/);
  assert.equal(await auditor.locator('main img').count(), 0, 'the file name is text, not markup');
  await accessible(auditor, 'a failed document check');
  // A commitment that is not the contract's is refused, and the auditor may not approve.
  const csrf = await auditor.locator('input[name="_csrf"]').first().getAttribute('value');
  const bogus = await auditorContext.request.post(`${auditor.url()}`, {
    multipart: {
      _csrf: csrf as string,
      commitment: 'f'.repeat(64),
      fil: { name: 'x.txt', mimeType: 'text/plain', buffer: report },
    },
  });
  assert.equal(bogus.status(), 400);
  assert.match(await bogus.text(), /Vælg et dokument fra kontraktens liste/);

  // 6c. An amendment with its version history: a price that is not a number is refused in Danish
  // and changes nothing; the caseworker proposes a new price, the centre chief approves it, and
  // both versions of the terms are shown with the height that set them.
  await cw.goto(caseUrl);
  const toAmend = cw.locator('section.contract', { hasText: `leverandør CVR ${CARE_HOME}` });
  await toAmend.getByLabel('Ny pris pr. måned for ophold (kr.)').fill('<b>47000</b>');
  await go(cw, toAmend.getByRole('button', { name: 'Send ændringsforslag' }), 'Handlingen blev afvist');
  await cw.getByRole('alert').filter({ hasText: 'Prisen for ophold skal være et helt tal' }).waitFor();
  await cw.goto(caseUrl);
  assert.equal(await toAmend.locator('li.motion', { hasText: 'ændring' }).count(), 0, 'nothing proposed');
  await toAmend.getByLabel('Ny pris pr. måned for ophold (kr.)').fill('47000');
  await go(cw, toAmend.getByRole('button', { name: 'Send ændringsforslag' }), 'Sagens overblik');
  assert.match(
    (await toAmend.locator('li.motion', { hasText: 'ændring' }).textContent()) ?? '',
    /mangler 1 centerchef \(kommunen\)/,
  );
  await chief.goto(caseUrl);
  await go(
    chief,
    chief
      .locator('section.contract', { hasText: `leverandør CVR ${CARE_HOME}` })
      .locator('li.motion', { hasText: 'ændring' })
      .getByRole('button', { name: 'Godkend' }),
    'Sagens overblik',
  );
  await cw.goto(caseUrl);
  const versions = toAmend.locator('table.versions tbody tr');
  await versions.nth(1).waitFor();
  assert.match((await versions.nth(0).textContent()) ?? '', /1 \(oprettelse\).*ophold: 45\.000,00 kr\./);
  assert.match(
    (await versions.nth(1).textContent()) ?? '',
    /2 \(ændring [0-9a-f]{8}\).*ophold: 47\.000,00 kr\./,
  );
  await accessible(cw, 'the case overview with an amendment');

  // 6d. One line item amended — its price and its last day — with the other terms unchanged: a
  // last day that is not a date is refused in Danish and changes nothing; then proposed, approved,
  // and the third version shows the item's new price and last day.
  const csrfOf = async () =>
    (await cw.locator('input[name="_csrf"]').first().getAttribute('value')) as string;
  const hostileItem = await caseworkerContext.request.post(
    `${publicUrl}/konsol/kontrakter/${placementId}/aendring/ydelse`,
    { form: { _csrf: await csrfOf(), ydelse: 'ophold', pris: '', til: '"><script>alert(1)</script>' } },
  );
  assert.equal(hostileItem.status(), 400);
  assert.match(await hostileItem.text(), /Slutdatoen skal være en dato/);
  assert.doesNotMatch(await hostileItem.text(), /<script>alert/);
  const until = `${Number(start.slice(0, 4)) + 1}${start.slice(4)}`;
  await toAmend.getByLabel('Ydelse', { exact: true }).selectOption('ophold');
  await toAmend.getByLabel('Ny pris pr. måned (kr.; tom: uændret)').fill('48000');
  await toAmend.getByLabel('Ydelsen ophører efter (dato; tom: uændret)').fill(until);
  await go(cw, toAmend.getByRole('button', { name: 'Send ændring af ydelsen' }), 'Sagens overblik');
  await chief.goto(caseUrl);
  await go(
    chief,
    chief
      .locator('section.contract', { hasText: `leverandør CVR ${CARE_HOME}` })
      .locator('li.motion', { hasText: 'ændring' })
      .getByRole('button', { name: 'Godkend' }),
    'Sagens overblik',
  );
  await cw.goto(caseUrl);
  await versions.nth(2).waitFor();
  assert.match(
    (await versions.nth(2).textContent()) ?? '',
    new RegExp(`3 \\(ændring [0-9a-f]{8}\\).*ophold: 48\\.000,00 kr\\. til ${until}`),
  );
  await accessible(cw, 'the case overview with a line item amended');

  await cw.goto(caseUrl);
  const taxi = await cw
    .locator('section.contract', { hasText: `leverandør CVR ${OTHER_PROVIDER}` })
    .getAttribute('data-contract');
  const refused = await care.goto(`${publicUrl}/konsol/kontrakter/${taxi}`);
  assert.equal(refused?.status(), 403);
  await care
    .getByRole('alert')
    .filter({ hasText: 'Din organisation er ikke part i denne kontrakt.' })
    .waitFor();

  // 6e. The school support runs too: the caseworker proposes its activation, the centre chief
  // approves, and the school-support firm's employee (another browser context) co-signs.
  await cw.goto(caseUrl);
  const school = sectionOf(cw, SCHOOL_FIRM);
  await school.getByLabel('Handling').selectOption('activate');
  await go(cw, school.getByRole('button', { name: 'Foreslå' }), 'Sagens overblik');
  await chief.goto(caseUrl);
  await go(
    chief,
    sectionOf(chief, SCHOOL_FIRM).locator('li.motion').getByRole('button', { name: 'Godkend' }),
    'Sagens overblik',
  );
  const firm = await login(await newContext(), SCHOOL_WORKER);
  const firmRows = firm.locator('tbody tr');
  assert.equal(await firmRows.count(), 1, 'the firm sees its own contract only');
  await go(firm, firmRows.getByRole('link'), `Kontrakt ${schoolId}`);
  await go(firm, firm.getByRole('button', { name: 'Godkend' }), 'Sagens overblik');
  await firm.locator('section.contract', { hasText: `leverandør CVR ${SCHOOL_FIRM} · aktiv` }).waitFor();
  assert.equal(
    await firm.locator('section.contract').count(),
    1,
    'the firm sees its own contract of the case',
  );
  await accessible(firm, 'the school-support firm’s case page');

  await cw.goto(caseUrl);
  assert.equal(
    await cw.locator('section.contract').count(),
    3,
    'the case overview shows all three contracts',
  );
  for (const provider of [CARE_HOME, SCHOOL_FIRM])
    await cw.locator('section.contract', { hasText: `leverandør CVR ${provider} · aktiv` }).waitFor();
  await cw.locator('section.contract', { hasText: `leverandør CVR ${OTHER_PROVIDER} · kladde` }).waitFor();
  await shot(cw, 'case-overview');

  // 7. The centre chief terminates the placement: the cascade shown beforehand happens — and the
  // caseworker's open overview shows it live, from the event stream, without reloading.
  await cw.goto(caseUrl);
  await cw.getByRole('status').filter({ hasText: 'Live: følger netværket' }).waitFor();
  let navigations = 0;
  cw.on('framenavigated', () => navigations++);
  await chief.goto(caseUrl);
  const toEnd = chief.locator('section.contract', { hasText: `leverandør CVR ${CARE_HOME}` });
  // Shown before it happens: the taxi (drafted to end with it, and still a draft) ends; the running
  // school support (drafted to pause) is paused.
  assert.equal(
    (await toEnd.locator('.cascade').textContent())?.trim(),
    `Opsigelse vil også: opsige kontrakt ${taxiId}; sætte i bero kontrakt ${schoolId}.`,
  );
  await toEnd.getByLabel('Handling').selectOption('terminate');
  await go(chief, toEnd.getByRole('button', { name: 'Foreslå' }), 'Sagens overblik');
  for (const page of [chief, cw])
    for (const [provider, status] of [
      [CARE_HOME, 'ophørt'],
      [OTHER_PROVIDER, 'ophørt'],
      [SCHOOL_FIRM, 'sat i bero'],
    ] as const)
      await page.locator('section.contract', { hasText: `leverandør CVR ${provider} · ${status}` }).waitFor();
  assert.equal(navigations, 0, 'updated in place');

  // 7b. KLE constraints. The caseworker drafts a contract on KLE subject 27.20.04 in the case; a
  // caseworker whose privilege covers only 28.* sees it counted but not shown, is refused opening
  // it and drafting under 27.20.04 (in Danish, naming the subject), and nothing changes.
  const later = startAfter((await g.call('GET', '/v1/network', { as: esdh })).body.clock.businessDate);
  const kleDraft = async (page: Page, kle: string, heading: string) => {
    await page.getByLabel('Skabelon (kode, fx anbringelse)').fill('anbringelse');
    await page.getByLabel('Leverandør (CVR)').fill(OTHER_PROVIDER);
    await page.getByLabel('Start (dag 1–28)').fill(later);
    await page.getByLabel('Ydelse (kode)').fill('stoette');
    await page.getByLabel('Pris pr. måned (kr.)').fill('2000');
    await page.getByLabel('KLE-emne (valgfrit, fx 27.20.04)').fill(kle);
    await go(page, page.getByRole('button', { name: 'Opret kladde' }), heading);
  };
  await cw.goto(caseUrl);
  await kleDraft(cw, '27.20.04', 'Sagens overblik');
  const kleSection = cw.locator('section.contract', { hasText: '27.20.04' });
  const kleContract = (await kleSection.getAttribute('data-contract')) as string;
  const kw = await login(await newContext(), KLE_WORKER);
  assert.match((await kw.locator('header .who').textContent()) ?? '', /sagsbehandler \(KLE 28\.\*\)/);
  await kw.goto(caseUrl);
  await kw
    .getByRole('note')
    .filter({ hasText: '1 kontrakt(er) ligger uden for dine KLE-emner (28.*) og vises ikke.' })
    .waitFor();
  assert.equal(await kw.locator(`section.contract[data-contract="${kleContract}"]`).count(), 0);
  await kw.getByText('Dine rettigheder dækker KLE 28.*: en kontrakt uden for dem afvises.').waitFor();
  await accessible(kw, 'the case page of a KLE-limited caseworker');
  await kleDraft(kw, '27.20.04', 'Handlingen blev afvist');
  await kw
    .getByRole('alert')
    .filter({ hasText: 'Dine rettigheder dækker ikke KLE-emnet 27.20.04' })
    .waitFor();
  await kw.locator('p.hint code', { hasText: 'KLE_NOT_PERMITTED' }).waitFor();
  await accessible(kw, 'a KLE refusal');
  await shot(kw, 'kle-refused');
  const outside = await kw.goto(`${publicUrl}/konsol/kontrakter/${kleContract}`);
  assert.equal(outside?.status(), 403);
  await kw
    .getByRole('alert')
    .filter({ hasText: 'Dine rettigheder dækker ikke KLE-emnet 27.20.04' })
    .waitFor();
  // Hostile text in the KLE field is refused before anything is signed.
  await kw.goto(caseUrl);
  await kleDraft(kw, '<b>2</b>', 'Handlingen blev afvist');
  await kw.getByRole('alert').filter({ hasText: 'KLE-emnet er to, fire eller seks cifre' }).waitFor();
  await cw.goto(caseUrl);
  assert.equal(await cw.locator('section.contract').count(), 4, 'nothing drafted by the refused attempts');

  // 8. The operator: each node's fault counters, the authority set by height, and a membership
  // proposal with its votes. (Last: the added authority never starts, so this one-node chain halts.)
  const authority = await connect(nodes[0]?.url as string, { key: readNodeConfigKey(config as string) });
  const proposed = await authority.proposeMembership(
    { action: 'add', name: 'Albertslund Kommune', cvr: '12345678', publicKey: generateKeyPair().publicKey },
    { wait: true },
  );
  await go(chief, chief.getByRole('link', { name: 'Netværk' }), 'Netværket');
  const counters = chief.locator('table.counters tbody tr').first().locator('td');
  assert.match((await counters.nth(1).textContent()) ?? '', /^\d+$/, 'round changes from the node');
  await chief.getByLabel('Forslagets transaktions-hash').fill(proposed.hash);
  await go(chief, chief.getByRole('button', { name: 'Vis forslag' }), 'Netværket');
  const shown = (await chief.locator('dl.proposal').textContent()) ?? '';
  assert.match(shown, /optag Albertslund Kommune \(CVR 12345678\)/);
  assert.match(shown, /vedtaget, gælder fra højde \d+/);
  assert.match(shown, /Stemmer \(1 af 1; over to tredjedele kræves\)/);
  await accessible(chief, 'the network page with a proposal');
  await shot(chief, 'network');
  await chief.goto(`${publicUrl}/konsol/netvaerk?forslag=${'0'.repeat(64)}`);
  await chief.getByRole('alert').filter({ hasText: 'Ingen node kender et forslag med den hash.' }).waitFor();
  const hostile = await chief.goto(
    `${publicUrl}/konsol/netvaerk?forslag=%3Cscript%3Ealert(1)%3C%2Fscript%3E`,
  );
  assert.equal(hostile?.status(), 400);
  assert.equal(await chief.locator('script:not([src])').count(), 0);
  assert.deepEqual(violations, [], 'no CSP violations');
});
