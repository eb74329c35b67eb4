/**
 * Citizens' access ("Mine ydelser", issue 17) in a real browser (Debian's Chromium through
 * playwright-core) against the gateway over HTTPS in front of a real node process. Citizens log in
 * through the MitID broker EMULATOR (OIDC code + PKCE, signed ID token with a `cpr` claim); the
 * municipality's case system EMULATOR is the only register of CPR numbers and custody.
 *
 * A guardian sees the services agreed for the child in their custody — the placement with its
 * school support, and the taxi — with provider organisation, period, status, next report due and
 * whether it runs as agreed, but no amounts and no drafts. A caseworker opens the case in the
 * console and the case system reads a contract through the API: the guardian's case page lists both
 * reads with organisation, unit (not the person), purpose and system, each with its inclusion proof
 * checked against a Merkle root anchored on chain. Another citizen's case is refused
 * (changed id), as are a made-up and a replayed login; a citizen unknown to the case system sees
 * nothing. A document read is logged too. The guardian's correction request reaches the case
 * system's inbox (hostile text refused first); a power of attorney is given, used, revoked, and
 * lapses with custody. The gateway restarts and the log, messages and grants are read back; the
 * log's retention erases old entries and the rest still verify. Every page is checked with
 * axe-core. Afterwards the node's store and output, the gateway's files, its log (debug level) and
 * audit are searched for the CPR numbers, names and the correction's text used: none may appear.
 *
 * Screenshots for the README: `TILLID_CITIZENS_SCREENSHOTS=gateway/citizens/screenshots node --test test/gateway/citizens/browser.alone.ts`.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import type { BrowserContext, Page, Request as PageRequest, Response as PageResponse } from 'playwright-core';
import { AccessLog } from '../../../gateway/access-log/log.ts';
import { caseReference } from '../../../gateway/console/case-ref.ts';
import { CaseSystemEmulator } from '../../../gateway/emulators/case-system-emulator.ts';
import {
  ContextHandlerEmulator,
  type EmulatedPerson,
} from '../../../gateway/emulators/context-handler-oidc.ts';
import { type EmulatedCitizen, MitIdBrokerEmulator } from '../../../gateway/emulators/mitid-broker-oidc.ts';
import { FileKeyStore } from '../../../gateway/keystore.ts';
import { startGateway } from '../../../gateway/main.ts';
import { readNodeConfigKey } from '../../../node/custody/key-file.ts';
import { directorPolicies } from '../../fixtures/contracts.ts';
import { tempDir } from '../../fixtures/node.ts';
import { initLocalNetwork, type NodeProcess, startNodeProcess, stopNodeProcess } from '../../process.ts';
import { accessible, httpsSite, staffLogin, startAfter, startBrowser, steady } from '../browser-kit.ts';
import { CARE_HOME, OTHER_PROVIDER, privilege, startGatewayFixture, TEST_PASSPHRASE } from '../harness.ts';

const MUNICIPALITY = '29189846';

// THROWAWAY test people: made-up CPR numbers and names.
const GUARDIAN: EmulatedCitizen = { sub: 'sub-borger-1', label: 'Anna Andersen (værge)', cpr: '0101809995' };
const OTHER: EmulatedCitizen = { sub: 'sub-borger-2', label: 'Ole Olsen', cpr: '0202709991' };
const STRANGER: EmulatedCitizen = { sub: 'sub-borger-3', label: 'Søren Sørensen', cpr: '0303609997' };
const CHILD = { cpr: '1505150008', firstName: 'Emmeline' };
const CASEWORKER: EmulatedPerson = {
  sub: 'sub-sagsbehandler-1',
  name: 'Sara Sagsbehandler',
  cvr: MUNICIPALITY,
  unit: 'Familieafdelingen',
  privileges: [privilege('caseworker')],
};
const CHILD_CASE = '27.12.04-G01-7-26';
// The guardian's correction request: stored encrypted, delivered to the case system only.
const CORRECTION = 'Taxaen henter Emmeline kl. 7.40, ikke 8.10 <b>som der står</b>. Vh Anna';
const OTHER_CASE = '27.12.04-G01-9-26';
const SECRETS = [
  GUARDIAN.cpr,
  OTHER.cpr,
  STRANGER.cpr,
  CHILD.cpr,
  'Anna Andersen',
  'Ole Olsen',
  'Søren Sørensen',
  CASEWORKER.name,
  CHILD.firstName,
  CHILD_CASE,
  OTHER_CASE,
  CORRECTION,
  'Taxaen henter',
];

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

test('citizens: a guardian sees the child’s services; others’ data, made-up and replayed logins refused; no CPR or name kept', async (t) => {
  const { violations, newContext } = await startBrowser(t, { width: 1100, defaultTimeoutMs: 60_000 });
  const dir = tempDir(t, 'tillid-citizens-');
  const [config] = await initLocalNetwork(join(dir, 'network'), 1, 'tillid-citizens', 23, [
    '--business-days-per-block',
    '1',
  ]);
  const node: NodeProcess = await startNodeProcess(config as string);
  t.after(() => stopNodeProcess(node, 'SIGKILL'));
  let nodeOutput = '';
  node.child.stdout?.on('data', (d) => {
    nodeOutput += d;
  });
  node.child.stderr?.on('data', (d) => {
    nodeOutput += d;
  });

  const { port, publicUrl, server, caFile } = await httpsSite(dir);
  const mitid = await MitIdBrokerEmulator.start({
    cert: server.certPem,
    key: server.keyPem,
    citizens: [GUARDIAN, OTHER, STRANGER],
    clients: { 'tillid-borger': [`${publicUrl}/borger/callback`] },
  });
  t.after(() => mitid.stop());
  const contextHandler = await ContextHandlerEmulator.start({
    cert: server.certPem,
    key: server.keyPem,
    persons: [CASEWORKER],
    clients: { 'tillid-konsol': [`${publicUrl}/konsol/callback`] },
  });
  t.after(() => contextHandler.stop());
  const caseSystem = new CaseSystemEmulator({
    municipality: MUNICIPALITY,
    records: [
      { cpr: GUARDIAN.cpr, firstName: 'Anna', caseNumbers: [], custodyOf: [CHILD.cpr] },
      { cpr: CHILD.cpr, firstName: CHILD.firstName, caseNumbers: [CHILD_CASE] },
      { cpr: OTHER.cpr, firstName: 'Ole', caseNumbers: [OTHER_CASE] },
    ],
    organisations: {
      [MUNICIPALITY]: 'Aarhus Testkommune',
      [CARE_HOME]: 'Botilbuddet Solsiden',
      [OTHER_PROVIDER]: 'Taxa Syd',
    },
  });
  // The gateway logs at debug level to a file, so the privacy check below reads everything it said.
  const logFile = join(dir, 'gateway.log');
  const log = pino({ level: 'debug' }, pino.destination({ dest: logFile, sync: true }));

  const g = await startGatewayFixture<'esdh' | 'careHome' | 'taxi'>(t, {
    municipalities: [
      {
        cvr: MUNICIPALITY,
        nodes: [node.url],
        authority: readNodeConfigKey(config as string),
      },
    ],
    providers: [CARE_HOME, OTHER_PROVIDER],
    register: true,
    systems: {
      esdh: { cvr: MUNICIPALITY, privileges: [privilege('caseworker'), privilege('director')] },
      careHome: { cvr: CARE_HOME },
      taxi: { cvr: OTHER_PROVIDER },
    },
    config: {
      listen: { host: '127.0.0.1', port },
      logLevel: 'debug',
      accessLogAnchorMs: 500,
      console: {
        issuer: contextHandler.issuer,
        clientId: 'tillid-konsol',
        publicUrl,
        issuerCaFile: caFile,
        citizenIssuer: mitid.issuer,
        citizenClientId: 'tillid-borger',
      },
    },
    components: { caseSystem, log },
  });

  // The municipality's case system drafts and activates the contracts under the cases' references.
  const keys = FileKeyStore.open(g.keyStoreDir, TEST_PASSPHRASE);
  const childRef = caseReference(keys, MUNICIPALITY, CHILD_CASE) as string;
  const otherRef = caseReference(keys, MUNICIPALITY, OTHER_CASE) as string;
  const esdh = { token: await g.token(g.systems.esdh) };
  const template = await g.call('POST', '/v1/templates?wait=true', {
    as: esdh,
    body: {
      code: 'anbringelse',
      releaseWithheldOnReport: true,
      approvalLifetimeDays: 60,
      policies: directorPolicies(),
    },
  });
  assert.equal(template.status, 200, JSON.stringify(template.body));
  const network = await g.call('GET', '/v1/network', { as: esdh });
  const start = startAfter(network.body.clock.businessDate);
  const contract = async (
    caseRef: string,
    provider: string,
    items: { code: string; monthly: number }[],
    o: { activateBy?: { cert: (typeof g.systems)['careHome'] }; parent?: string } = {},
  ) => {
    const created = await g.call('POST', '/v1/contracts?wait=true', {
      as: esdh,
      body: {
        template: template.body.id,
        provider,
        start,
        months: 24,
        items,
        reportEveryMonths: 3,
        caseRef,
        role: 'caseworker',
        ...(o.parent ? { parent: o.parent, onParentEnd: 'terminate' } : {}),
      },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const id = created.body.id as string;
    if (o.activateBy) {
      const motion = await g.call('POST', `/v1/contracts/${id}/motions?wait=true`, {
        as: esdh,
        body: { action: 'activate', role: 'caseworker' },
      });
      assert.equal(motion.status, 200, JSON.stringify(motion.body));
      const approved = await g.call(
        'POST',
        `/v1/contracts/${id}/motions/${motion.body.id}/approvals?wait=true`,
        {
          as: o.activateBy,
          body: {},
        },
      );
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
    }
    return id;
  };
  const placement = await contract(
    childRef,
    CARE_HOME,
    [
      { code: 'ophold', monthly: 4_500_000 },
      { code: 'skole', monthly: 1_000_000 },
    ],
    { activateBy: { cert: g.systems.careHome } },
  );
  await contract(childRef, OTHER_PROVIDER, [{ code: 'taxi', monthly: 300_000 }], {
    activateBy: { cert: g.systems.taxi },
    parent: placement,
  });
  // A draft is not agreed: the guardian does not see it.
  await contract(childRef, CARE_HOME, [{ code: 'fritidsklub', monthly: 200_000 }]);
  await contract(otherRef, CARE_HOME, [{ code: 'ophold', monthly: 3_900_000 }], {
    activateBy: { cert: g.systems.careHome },
  });

  const shots = process.env.TILLID_CITIZENS_SCREENSHOTS;
  const shot = async (page: Page, name: string) => {
    if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  };
  const visit = (page: Page, url: string) => steady(() => page.goto(url));
  const heading = async (page: Page) => (await page.locator('h1').textContent())?.trim();
  /** Logs in through the MitID broker emulator; returns the page and the callback URL the browser visited. */
  const login = (context: BrowserContext, who: EmulatedCitizen) => steady(() => loginOnce(context, who));
  const loginOnce = async (context: BrowserContext, who: EmulatedCitizen) => {
    const page = await context.newPage();
    let callback = '';
    page.on('request', (r) => {
      if (r.url().includes('/borger/callback')) callback = r.url();
    });
    const answer = await visit(page, `${publicUrl}/borger/`);
    assert.doesNotMatch(answer?.headers()['content-security-policy'] ?? '', /unsafe-inline/);
    await page.getByRole('link', { name: 'Log ind med MitID' }).click();
    await page.getByText('EMULATOR af MitID via login-broker').waitFor();
    await page.locator(`input[value="${who.sub}"]`).check();
    await Promise.all([
      page.waitForURL(`${publicUrl}/borger/`),
      page.getByRole('button', { name: 'Log ind' }).click(),
    ]);
    return { page, callback };
  };

  // 1. The login page, then the guardian logs in and sees the child's services.
  const guardianContext = await newContext();
  const first = await guardianContext.newPage();
  await visit(first, `${publicUrl}/borger/`);
  await accessible(first, 'the citizens’ login page');
  await first.close();
  const { page: guardian, callback } = await login(guardianContext, GUARDIAN);
  assert.equal(await heading(guardian), 'Mine ydelser');
  const cookie = (await guardianContext.cookies()).find((c) => c.name === '__Host-tillid-borger');
  assert.ok(cookie, 'a citizen session cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.secure, true);
  assert.equal(cookie.sameSite, 'Strict');
  const child = guardian.locator('section.case', { hasText: `Ydelser for ${CHILD.firstName}` });
  const rows = child.locator('tbody tr');
  assert.equal(await rows.count(), 2, 'the placement and the taxi; not the draft');
  const placementRow = rows.filter({ hasText: 'ophold på botilbud, skolestøtte' });
  assert.match(
    (await placementRow.textContent()) ?? '',
    new RegExp(
      `${start}.*Botilbuddet Solsiden \\(CVR ${CARE_HOME}\\).*aktiv.*\\d{4}-\\d{2}-\\d{2}.*(Ja\\.|Nej: leverandørens statusrapport)`,
      's',
    ),
  );
  assert.match(
    (await rows.filter({ hasText: 'taxakørsel' }).textContent()) ?? '',
    /Taxa Syd \(CVR 87654321\).*aktiv/s,
  );
  const text = (await guardian.locator('main').textContent()) ?? '';
  assert.doesNotMatch(text, /fritidsklub|kr\.|45\.000|39\.000/, 'no draft, no amounts');
  assert.equal(await guardian.locator('section.case').count(), 1, 'only the child’s case');
  await accessible(guardian, 'Mine ydelser');
  await shot(guardian, 'mine-ydelser');

  // The child's case page; then a changed id — the other citizen's case, and a made-up one — is refused.
  const caseLink = await guardian.locator('section.case h2 a').getAttribute('href');
  assert.equal(caseLink, `/borger/sager/${childRef}`);
  await visit(guardian, `${publicUrl}${caseLink}`);
  assert.equal(await heading(guardian), `Ydelser for ${CHILD.firstName}`);
  await accessible(guardian, 'the child’s case');
  for (const ref of [otherRef, 'f'.repeat(64)]) {
    const refused = await visit(guardian, `${publicUrl}/borger/sager/${ref}`);
    assert.equal(refused?.status(), 403);
    await guardian.getByRole('alert').filter({ hasText: 'Sagen er ikke din' }).waitFor();
    assert.doesNotMatch((await guardian.locator('main').textContent()) ?? '', /botilbud|taxa/i);
  }
  await accessible(guardian, 'a refused case');
  await shot(guardian, 'refused');
  // The citizen's session opens neither the systems' API nor the staff console.
  assert.equal((await guardianContext.request.get(`${publicUrl}/v1/contracts`)).status(), 401);
  assert.equal(
    (
      await guardianContext.request.get(`${publicUrl}/konsol/sager/${childRef}`, { maxRedirects: 0 })
    ).status(),
    401,
  );

  // 2. A caseworker opens the case in the console, and the case system reads a contract through the
  // API: the guardian's access log shows the caseworker's organisation and unit (not the person)
  // and the system, each entry with its inclusion proof checked against a root anchored on chain.
  const cwContext = await newContext();
  const cw = await cwContext.newPage();
  await steady(async () => {
    await staffLogin(cw, publicUrl, CASEWORKER);
    await cw.getByLabel('Sagsnummer').fill(CHILD_CASE);
    await Promise.all([
      cw.waitForURL(`${publicUrl}/konsol/sager/${childRef}`),
      cw.getByRole('button', { name: 'Åbn sag' }).click(),
    ]);
  });
  assert.equal(await heading(cw), 'Sagens overblik');
  const apiRead = await g.call('GET', `/v1/contracts/${placement}`, { as: esdh });
  assert.equal(apiRead.status, 200);
  // The provider uploads a status report under the placement; the case system reads it: a read of
  // the case's document, in the log like a contract read.
  const upload = await g.call('POST', `/v1/documents?docType=status-report&contract=${placement}`, {
    as: { cert: g.systems.careHome },
    raw: { bytes: Buffer.from('Statusrapport: trives i skolen.'), contentType: 'text/plain' },
  });
  assert.equal(upload.status, 201, JSON.stringify(upload.body));
  const docRead = await g.call('GET', `/v1/documents/${upload.body.id}`, { as: esdh });
  assert.equal(docRead.status, 200);
  const accessRows = guardian.locator('table.access-log tbody tr');
  for (let i = 0; ; i++) {
    await visit(guardian, `${publicUrl}/borger/sager/${childRef}`);
    const pending = await accessRows.filter({ hasText: 'Afventer forankring' }).count();
    const documentRows = await accessRows.filter({ hasText: 'et dokument' }).count();
    if ((await accessRows.count()) > 0 && documentRows > 0 && pending === 0) break;
    assert.ok(i < 120, 'the access log entries, the document read among them, are anchored');
    await guardian.waitForTimeout(500);
  }
  assert.match(
    (await accessRows.filter({ hasText: 'et dokument' }).first().textContent()) ?? '',
    new RegExp(`CVR ${MUNICIPALITY}.*sagsbehandling.*${g.systems.esdh.systemId}.*Bekræftet`, 's'),
  );
  const consoleRows = accessRows.filter({ hasText: 'Tillids konsol' });
  assert.ok((await consoleRows.count()) >= 3, 'the caseworker read the case’s three contracts');
  assert.match(
    (await consoleRows.first().textContent()) ?? '',
    new RegExp(
      `Aarhus Testkommune \\(CVR ${MUNICIPALITY}\\).*Familieafdelingen.*sagsbehandling.*Bekræftet: indgår i logrod [0-9a-f]{12}…, forankret i blok \\d+`,
      's',
    ),
  );
  assert.match(
    (await accessRows.filter({ hasNotText: 'Tillids konsol' }).first().textContent()) ?? '',
    new RegExp(
      `CVR ${MUNICIPALITY}.*ikke oplyst.*sagsbehandling.*${g.systems.esdh.systemId}.*Bekræftet`,
      's',
    ),
  );
  assert.doesNotMatch((await guardian.locator('main').textContent()) ?? '', /Sara/);
  await accessible(guardian, 'the case with its access log');
  await shot(guardian, 'access-log');
  // The caseworker's open page refreshes itself (a read each time): closed, so the log stands still.
  await cwContext.close();

  // 3. A replayed login (the guardian's callback URL in another browser) and a made-up one are refused.
  const replayContext = await newContext();
  const replay = await replayContext.newPage();
  assert.ok(callback.includes('code='), 'the callback URL was seen');
  assert.equal((await visit(replay, callback))?.status(), 401);
  await replay.getByRole('alert').filter({ hasText: 'Login mislykkedes' }).waitFor();
  assert.equal((await visit(replay, `${publicUrl}/borger/callback?code=forged&state=forged`))?.status(), 401);
  assert.equal((await visit(replay, `${publicUrl}/borger/sager/${childRef}`))?.status(), 401);
  assert.equal(
    (await replayContext.cookies()).some((c) => c.name === '__Host-tillid-borger'),
    false,
  );

  // 4. The other citizen sees their own case only; a citizen the case system does not know, nothing.
  const { page: other } = await login(await newContext(), OTHER);
  assert.equal(await other.locator('section.case').count(), 1);
  assert.match(
    (await other.locator('section.case').textContent()) ?? '',
    /Dine egne ydelser.*ophold på botilbud/s,
  );
  assert.equal((await visit(other, `${publicUrl}/borger/sager/${childRef}`))?.status(), 403);
  const { page: strangerPage } = await login(await newContext(), STRANGER);
  // Someone the case system does not know (an adviser) logs in — they may hold a power of attorney —
  // but sees no case, and the child's case is refused.
  await strangerPage.getByText('Kommunen har ingen sager om dig eller dine børn.').waitFor();
  assert.equal(await strangerPage.locator('section.case').count(), 0);
  assert.equal((await visit(strangerPage, `${publicUrl}/borger/sager/${childRef}`))?.status(), 403);
  await visit(strangerPage, `${publicUrl}/borger/`);
  await accessible(strangerPage, 'the home page of a person without cases');

  // 4b. Contribute and correct: the guardian asks to correct the taxi. Hostile text is refused first,
  // and nothing reaches the case system; the request then reaches its inbox, with a receipt on chain.
  await visit(guardian, `${publicUrl}/borger/sager/${childRef}`);
  const taxiId = (await guardian
    .locator('tr[data-contract]', { hasText: 'taxakørsel' })
    .getAttribute('data-contract')) as string;
  /**
   * Submits a form in the browser: `act` (re)opens the page, fills the form and clicks; the answer
   * to the POST to `path` is returned with its status and redirect. When Chromium aborts that POST
   * for a network change (see `steady`), `took` says whether it took effect anyway; if not, the
   * whole step is done again. A POST is never repeated once it took effect.
   */
  const submit = async (
    page: Page,
    path: string,
    act: () => Promise<unknown>,
    took: () => Promise<boolean> = async () => false,
  ): Promise<{ status: number; location: string | undefined } | 'took'> => {
    for (let attempt = 1; ; attempt++) {
      const isIt = (method: string, url: string) => method === 'POST' && new URL(url).pathname === path;
      let stop = (): void => undefined;
      const answer = new Promise<{ status: number; location: string | undefined } | 'aborted'>(
        (resolve, reject) => {
          const onResponse = (r: PageResponse) => {
            if (isIt(r.request().method(), r.url()))
              resolve({ status: r.status(), location: r.headers().location });
          };
          const onFailed = (r: PageRequest) => {
            if (isIt(r.method(), r.url()) && /ERR_NETWORK_CHANGED/.test(r.failure()?.errorText ?? ''))
              resolve('aborted');
          };
          const timer = setTimeout(() => reject(new Error(`no answer to POST ${path}`)), 90_000);
          page.on('response', onResponse);
          page.on('requestfailed', onFailed);
          stop = () => {
            clearTimeout(timer);
            page.off('response', onResponse);
            page.off('requestfailed', onFailed);
          };
        },
      );
      // Handled here too, so that a time-out while `act` still runs is not an unhandled rejection.
      answer.catch(() => undefined);
      try {
        await act();
        const a = await answer;
        if (a !== 'aborted') {
          await page.waitForLoadState().catch(() => undefined);
          return a;
        }
      } finally {
        stop();
      }
      if (await took()) return 'took';
      assert.ok(attempt < 4, `POST ${path} aborted by network changes four times`);
    }
  };
  const casePage = `${publicUrl}/borger/sager/${childRef}`;
  const sendMessage = (text: string, took?: () => Promise<boolean>) =>
    submit(
      guardian,
      `/borger/sager/${childRef}/henvendelser`,
      async () => {
        await visit(guardian, casePage);
        await guardian.getByLabel('Ydelse').selectOption(taxiId);
        await guardian.getByLabel('Hvad vil du?').selectOption('correction');
        await guardian.getByLabel('Din besked').fill(text);
        await guardian.getByRole('button', { name: 'Send til kommunen' }).click();
      },
      took,
    );
  const cpr = await sendMessage(`Barnets CPR er ${CHILD.cpr}`);
  assert.equal(cpr !== 'took' && cpr.status, 400);
  await guardian.getByRole('alert').filter({ hasText: 'Skriv ikke CPR-numre' }).waitFor();
  const bidi = await sendMessage('Ret \u202edette');
  assert.equal(bidi !== 'took' && bidi.status, 400);
  await guardian.getByRole('alert').filter({ hasText: 'usynlige tegn' }).waitFor();
  // A post from elsewhere, with the session cookie but without the page's CSRF token, is refused too.
  const forged = await guardianContext.request.post(`${casePage}/henvendelser`, {
    form: { contract: taxiId, kind: 'correction', text: 'Forfalsket' },
    maxRedirects: 0,
  });
  assert.equal(forged.status(), 403);
  assert.equal(caseSystem.inbox.length, 0, 'nothing refused reached the case system');
  const sent = await sendMessage(CORRECTION, async () => caseSystem.inbox.length > 0);
  if (sent !== 'took') {
    assert.equal(sent.status, 303);
    assert.equal(sent.location, `/borger/sager/${childRef}#henvendelser`);
  }
  await visit(guardian, casePage);
  assert.equal(caseSystem.inbox.length, 1);
  const delivered = caseSystem.inbox[0] as (typeof caseSystem.inbox)[number];
  assert.equal(delivered.message.text, CORRECTION, 'the text as written: markup is text');
  assert.equal(delivered.message.caseNumber, CHILD_CASE);
  assert.equal(delivered.message.contract, taxiId);
  assert.equal(delivered.message.kind, 'correction');
  assert.equal(delivered.fromCpr, GUARDIAN.cpr);
  const receipt = await fetch(`${node.url}/v1/anchors/${delivered.message.commitment}`);
  assert.equal(receipt.status, 200);
  assert.equal(((await receipt.json()) as { docType: string }).docType, 'citizen-correction');
  const messageRow = guardian.locator(`tr[data-message="${delivered.message.id}"]`);
  assert.match(
    (await messageRow.textContent()) ?? '',
    /Anmodning om rettelse.*taxakørsel.*Modtaget af kommunen/s,
  );
  assert.equal(await guardian.locator('main b').count(), 0, 'no markup from a citizen’s text on the page');
  await accessible(guardian, 'the case page with a message sent');
  await shot(guardian, 'henvendelse');
  caseSystem.handle(delivered.message.id);
  await visit(guardian, casePage);
  assert.match((await messageRow.textContent()) ?? '', /Behandlet/);

  // 4c. Power of attorney: the guardian gives the adviser access to the child's case until a date;
  // the adviser enters the code and sees the services; the guardian revokes it and the adviser is refused.
  const give = async () => {
    // The code is shown only once: a page lost to a network change means another grant (the lost one waits unused).
    const made = await submit(guardian, `/borger/sager/${childRef}/fuldmagter`, async () => {
      await visit(guardian, casePage);
      const until = await guardian.getByLabel('Adgang til og med').getAttribute('min');
      await guardian.getByLabel('Adgang til og med').fill(until as string);
      await guardian.getByRole('button', { name: 'Opret fuldmagt' }).click();
    });
    assert.equal(made !== 'took' && made.status, 200);
    await guardian.getByText('Fuldmagten er oprettet').waitFor();
    await accessible(guardian, 'the grant’s code');
    return (await guardian.locator('[data-code]').textContent()) as string;
  };
  /** The adviser enters the code (again, when a network change lost the answer: it is the same grant). */
  const redeem = async (code: string) => {
    const used = await submit(strangerPage, '/borger/fuldmagter', async () => {
      await visit(strangerPage, `${publicUrl}/borger/`);
      await strangerPage.getByLabel('Kode fra den, der gav dig fuldmagt').fill(code);
      await strangerPage.getByRole('button', { name: 'Brug koden' }).click();
    });
    assert.ok(used !== 'took' && used.status === 303 && used.location);
    assert.match(used.location, /^\/borger\/fuldmagter\/[0-9a-f-]{36}$/);
    await visit(strangerPage, `${publicUrl}${used.location}`);
    return `${publicUrl}${used.location}`;
  };
  const code = await give();
  await shot(guardian, 'fuldmagt-kode');
  const grantUrl = await redeem(code);
  assert.equal(await heading(strangerPage), 'Sag delt med dig');
  assert.equal(await strangerPage.locator('tbody tr').count(), 2, 'the placement and the taxi');
  assert.doesNotMatch((await strangerPage.locator('main').textContent()) ?? '', /kr\.|Emmeline/);
  await accessible(strangerPage, 'a case shared by power of attorney');
  await shot(strangerPage, 'fuldmagt-brugt');
  const grantLines = (): { grant?: { id: string; commitment: string }; revoked?: { id: string } }[] =>
    readFileSync(join(dirname(g.keyStoreDir), 'citizens', 'grants.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  const grantId = grantUrl.split('/').at(-1) as string;
  const given = grantLines().find((x) => x.grant?.id === grantId)?.grant as {
    commitment: string;
    id: string;
  };
  assert.ok(given, 'the grant is kept');
  const onChain = await fetch(`${node.url}/v1/anchors/${given.commitment}`);
  assert.equal(((await onChain.json()) as { docType: string }).docType, 'citizen-grant');
  // The code is used: another person cannot take it over.
  const other2 = await login(await newContext(), OTHER);
  const taken = await submit(other2.page, '/borger/fuldmagter', async () => {
    await visit(other2.page, `${publicUrl}/borger/`);
    await other2.page.getByLabel('Kode fra den, der gav dig fuldmagt').fill(code);
    await other2.page.getByRole('button', { name: 'Brug koden' }).click();
  });
  assert.equal(taken !== 'took' && taken.status, 404);
  // Nor can they open the grant by its id.
  assert.equal((await visit(other2.page, grantUrl))?.status(), 404);
  assert.doesNotMatch((await other2.page.locator('main').textContent()) ?? '', /botilbud|taxa/i);
  // Revoked by the guardian: refused with a clear message, the revocation on chain.
  const revoked = await submit(
    guardian,
    `/borger/sager/${childRef}/fuldmagter/${given.id}/tilbagekald`,
    async () => {
      await visit(guardian, casePage);
      await guardian
        .locator(`tr[data-grant="${given.id}"]`)
        .getByRole('button', { name: /Tilbagekald/ })
        .click();
    },
    // A revoked grant has no button to press again: whether it took is in the gateway's grants file.
    async () => grantLines().some((x) => x.revoked?.id === given.id),
  );
  if (revoked !== 'took') assert.equal(revoked.status, 303);
  await visit(guardian, casePage);
  assert.match((await guardian.locator(`tr[data-grant="${given.id}"]`).textContent()) ?? '', /Tilbagekaldt/);
  assert.equal((await visit(strangerPage, grantUrl))?.status(), 403);
  await strangerPage.getByRole('alert').filter({ hasText: 'Fuldmagten er tilbagekaldt' }).waitFor();
  assert.doesNotMatch((await strangerPage.locator('main').textContent()) ?? '', /botilbud|taxa/i);
  await accessible(strangerPage, 'a revoked grant');
  await shot(strangerPage, 'fuldmagt-tilbagekaldt');

  // 4d. Custody follows the case system: a second grant works until the guardian loses custody;
  // then both the guardian and the adviser are refused.
  const lapsing = await redeem(await give());
  assert.equal(await heading(strangerPage), 'Sag delt med dig');
  caseSystem.setCustody(GUARDIAN.cpr, []);
  assert.equal((await visit(strangerPage, lapsing))?.status(), 403);
  await strangerPage.getByRole('alert').filter({ hasText: 'har ikke længere adgang til sagen' }).waitFor();
  assert.equal((await visit(guardian, `${publicUrl}/borger/sager/${childRef}`))?.status(), 403);
  caseSystem.setCustody(GUARDIAN.cpr, [CHILD.cpr]);

  // 5. Logout ends the session.
  await visit(guardian, `${publicUrl}/borger/`);
  await guardian.getByRole('button', { name: 'Log ud' }).click();
  await guardian.waitForLoadState().catch(() => undefined);
  // The session is over whether or not the browser finished showing the page after logout.
  await visit(guardian, `${publicUrl}/borger/`);
  await guardian.getByRole('link', { name: 'Log ind med MitID' }).waitFor();
  assert.equal((await visit(guardian, `${publicUrl}/borger/sager/${childRef}`))?.status(), 401);

  // 5b. The gateway restarts: the access log, the messages and the grants are read back from its
  // files; after logging in again the guardian sees the same entries, still verified on chain.
  /** The case page once no entry awaits anchoring: the number of entries, all verified (bounded wait). */
  const settled = async (page: Page) => {
    const rows = page.locator('table.access-log tbody tr');
    for (let i = 0; ; i++) {
      await visit(page, `${publicUrl}/borger/sager/${childRef}`);
      if ((await rows.filter({ hasText: 'Afventer forankring' }).count()) === 0) break;
      assert.ok(i < 120, 'the access log entries are anchored');
      await page.waitForTimeout(500);
    }
    const count = await rows.count();
    assert.equal(await rows.filter({ hasText: 'Bekræftet' }).count(), count, 'each entry verified');
    return count;
  };
  const { page: again } = await login(guardianContext, GUARDIAN);
  const rowsBefore = await settled(again);
  await g.gateway.stop();
  const restarted = await startGateway(
    g.config,
    { keyStorePassphrase: TEST_PASSPHRASE },
    { audit: g.audit, log, caseSystem },
  );
  t.after(() => restarted.stop());
  const { page: afterRestart } = await login(guardianContext, GUARDIAN);
  assert.equal(
    await settled(afterRestart),
    rowsBefore,
    'every entry survived the restart and still proves into a root anchored on chain',
  );
  assert.match(
    (await afterRestart.locator(`tr[data-message="${delivered.message.id}"]`).textContent()) ?? '',
    /Behandlet/,
  );
  assert.match(
    (await afterRestart.locator(`tr[data-grant="${given.id}"]`).textContent()) ?? '',
    /Tilbagekaldt/,
  );

  // 5c. Retention: with the gateway stopped, the log erases the entries read before the latest one
  // (as its retention sweep does once they are old). After the restart the guardian sees only the
  // rest, each still verified against its root on chain, and is told that older entries were erased.
  await restarted.stop();
  const logFileOfAccess = join(dirname(g.keyStoreDir), 'access-log', 'access-log.jsonl');
  const recorded = readFileSync(logFileOfAccess, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((x) => x.entry)
    .map((x) => x.entry as { at: string; caseRef: string });
  const cutoff = recorded
    .map((e) => e.at)
    .sort()
    .at(-1) as string;
  const keep = recorded.filter((e) => e.caseRef === childRef && e.at >= cutoff).length;
  assert.ok(keep > 0 && keep < rowsBefore, 'some entries are older than the cutoff, some not');
  const offline = AccessLog.open({
    file: logFileOfAccess,
    anchor: () => Promise.reject(new Error('the gateway is stopped')),
    intervalMs: 3_600_000,
    retentionDays: 1,
    anchors: () => true,
  });
  assert.equal(await offline.eraseBefore(new Date(cutoff)), recorded.filter((e) => e.at < cutoff).length);
  await offline.stop();
  const afterRetention = await startGateway(
    g.config,
    { keyStorePassphrase: TEST_PASSPHRASE },
    { audit: g.audit, log, caseSystem },
  );
  t.after(() => afterRetention.stop());
  const { page: retained } = await login(guardianContext, GUARDIAN);
  assert.equal(await settled(retained), keep, 'the entries kept, each still verified');
  await retained.getByText('er slettet efter kommunens opbevaringsperiode').waitFor();
  assert.equal(
    readFileSync(logFileOfAccess, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"entry"')).length,
    recorded.filter((e) => e.at >= cutoff).length,
    'erased from the file, not only from the page',
  );
  await accessible(retained, 'the access log after retention');
  assert.deepEqual(violations, [], 'no CSP violations');

  // 6. Privacy: no CPR number, name, case number or the correction's text in the node's store and
  // output, the gateway's files (key store, documents, access log, messages, grants), its debug log
  // or its audit.
  log.flush();
  const places: [string, Buffer][] = [
    ...filesUnder(join(dir, 'network')).map((f) => [f, readFileSync(f)] as [string, Buffer]),
    ...filesUnder(dirname(g.keyStoreDir)).map((f) => [f, readFileSync(f)] as [string, Buffer]),
    [logFile, readFileSync(logFile)],
    ['node output', Buffer.from(nodeOutput)],
    ['audit', Buffer.from(JSON.stringify(g.audit.entries ?? []))],
  ];
  assert.ok(readFileSync(logFile).length > 0, 'the gateway logged');
  for (const [where, bytes] of places)
    for (const secret of SECRETS)
      assert.equal(bytes.includes(Buffer.from(secret)), false, `${secret} found in ${where}`);
});
