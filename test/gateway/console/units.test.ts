/**
 * The console's pure parts: escaping by default, policy lines in Danish, case numbers (CPR-like
 * and markup refused) and their pseudonyms, and the cascade preview (the chain's rule in agenda.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CaseNumberError, caseReference, checkCaseNumber } from '../../../gateway/console/case-ref.ts';
import { ERROR_DA, policyDa } from '../../../gateway/console/danish.ts';
import { FormError, itemAmendment } from '../../../gateway/console/forms.ts';
import { escapeHtml, html } from '../../../gateway/console/html.ts';
import { type ContractSummary, cascadeOf } from '../../../gateway/console/pages/views.ts';
import { consoleRefusal } from '../../../gateway/console/refusal.ts';
import { GatewayError, gatewayStatusOf } from '../../../gateway/errors.ts';
import { FileKeyStore } from '../../../gateway/keystore.ts';
import { tempDir } from '../../fixtures/node.ts';

test('html escapes every interpolation unless it is html itself', () => {
  const hostile = `<script>alert("x")</script>' onload=\`y\` &amp;`;
  const out = html`<p title="${hostile}">${hostile}</p>${[html`<b>${'<i>'}</b>`, 1, null, undefined, false]}`
    .value;
  assert.equal(
    out,
    '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onload=&#96;y&#96; &amp;amp;">' +
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onload=&#96;y&#96; &amp;amp;</p><b>&lt;i&gt;</b>1',
  );
  assert.equal(escapeHtml('æøå 010203-1234'), 'æøå 010203-1234');
});

test('policy lines read in Danish', () => {
  assert.equal(
    policyDa('1 centre-chief or 1 director (municipality)'),
    '1 centerchef eller 1 direktør (kommunen)',
  );
  assert.equal(policyDa('2 centre-chiefs (municipality)'), '2 centerchefer (kommunen)');
  assert.equal(
    policyDa('1 caseworker (municipality) and 1 provider-representative (provider)'),
    '1 sagsbehandler (kommunen) og 1 leverandørrepræsentant (leverandøren)',
  );
  assert.equal(
    policyDa('at least 2 of (1 director, 2 centre-chiefs) (municipality)'),
    'mindst 2 af (1 direktør, 2 centerchefer) (kommunen)',
  );
});

test('case numbers: ESDH style accepted; CPR-like numbers and markup refused', () => {
  assert.equal(checkCaseNumber(' 27.12.04-G01-123-26 '), '27.12.04-G01-123-26');
  for (const bad of ['010203-1234', '0102031234', 'sag-0102031234', '<b>x</b>', '', 'a'.repeat(41), 'a b'])
    assert.throws(() => checkCaseNumber(bad), CaseNumberError, bad);
});

test('a case reference is a per-municipality pseudonym of the case number', (t) => {
  const dir = tempDir(t, 'tillid-console-case-');
  FileKeyStore.create(dir, 'throwaway-passphrase', '29189846');
  FileKeyStore.create(dir, 'throwaway-passphrase', '29189847');
  const keys = FileKeyStore.open(dir, 'throwaway-passphrase');
  const a = caseReference(keys, '29189846', '27.12.04-G01-1-26');
  assert.match(a ?? '', /^[0-9a-f]{64}$/);
  assert.equal(caseReference(keys, '29189846', '27.12.04-G01-1-26'), a);
  assert.notEqual(
    caseReference(keys, '29189847', '27.12.04-G01-1-26'),
    a,
    'another municipality, another pseudonym',
  );
  assert.notEqual(caseReference(keys, '29189846', '27.12.04-G01-2-26'), a);
  assert.notEqual(
    keys.pseudonym('29189846', 'person:console\nuser:27.12.04-G01-1-26'),
    a,
    'never an actor id',
  );
  assert.throws(() => caseReference(keys, '29189846', '010203-1234'), CaseNumberError);
});

const summary = (id: string, o: Partial<ContractSummary> = {}): ContractSummary => ({
  id,
  template: '29189846/anbringelse',
  municipality: '29189846',
  provider: '12345678',
  start: '2026-03-01',
  status: 'active',
  children: [],
  terms: { items: [{ code: 'ophold', monthly: 100 }], months: 12, reportEveryMonths: 1 },
  ...o,
});

test('the cascade preview follows the chain: terminate recurses, suspend pauses active ones, drafts end', () => {
  const all = new Map(
    [
      summary('root', { children: ['school', 'taxi', 'draft', 'done'] }),
      summary('school', { parent: 'root', onParentEnd: 'suspend', children: ['tutor'] }),
      summary('tutor', { parent: 'school', onParentEnd: 'terminate' }),
      summary('taxi', { parent: 'root', onParentEnd: 'terminate', children: ['escort'] }),
      summary('escort', { parent: 'taxi', onParentEnd: 'suspend' }),
      summary('draft', { parent: 'root', onParentEnd: 'suspend', status: 'draft' }),
      summary('done', { parent: 'root', onParentEnd: 'terminate', status: 'terminated' }),
    ].map((c) => [c.id, c]),
  );
  assert.deepEqual(cascadeOf('root', all), [
    { id: 'school', effect: 'suspend' },
    { id: 'taxi', effect: 'terminate' },
    { id: 'draft', effect: 'terminate' },
    { id: 'escort', effect: 'suspend' },
  ]);
  assert.deepEqual(cascadeOf('school', all), [{ id: 'tutor', effect: 'terminate' }]);
});

test('every console refusal carries a documented gateway code, its status and a Danish sentence', () => {
  // The console's own codes are rows of the gateway's table (error-codes.test.ts holds the table to
  // gateway/README.md), each with a sentence for the person at the screen.
  for (const code of ['FORM_INVALID', 'CSRF', 'LOGIN_REQUIRED', 'LOGIN_FAILED', 'CASE_NUMBER_INVALID'])
    assert.ok(Object.hasOwn(gatewayStatusOf, code), `${code} in the gateway's table`);
  for (const code of Object.keys(ERROR_DA))
    assert.ok(Object.hasOwn(gatewayStatusOf, code), `ERROR_DA.${code} is a documented code`);
  const cases: [unknown, number, string, RegExp][] = [
    [new FormError('Prisen skal være et helt tal.'), 400, 'FORM_INVALID', /Prisen/],
    [new FormError('x', 'CSRF'), 403, 'CSRF', /^x$/],
    // The older call shape: the status comes from the table, not the caller.
    [new FormError('Log ind.', 500, 'LOGIN_REQUIRED'), 401, 'LOGIN_REQUIRED', /Log ind/],
    [new CaseNumberError('ligner et CPR-nummer'), 400, 'CASE_NUMBER_INVALID', /CPR/],
    [
      new GatewayError('KLE_NOT_PERMITTED', 'kle 27.* does not cover 28.01'),
      403,
      'KLE_NOT_PERMITTED',
      /KLE-emne/,
    ],
    [Object.assign(new Error('body/x'), { validation: [{}] }), 400, 'FORM_INVALID', /ikke udfyldt korrekt/],
    [Object.assign(new Error('too large'), { statusCode: 413 }), 413, 'BODY_TOO_LARGE', /for stor/],
    [Object.assign(new Error('odd'), { statusCode: 405 }), 400, 'FORM_INVALID', /ikke udfyldt korrekt/],
    [new TypeError('a bug'), 500, 'INTERNAL', /fejl i gatewayen/],
  ];
  for (const [error, status, code, message] of cases) {
    const r = consoleRefusal(error);
    assert.equal(r.code, code);
    assert.equal(r.status, status, code);
    assert.equal(gatewayStatusOf[r.code], r.status, `${code}: the table's status`);
    assert.match(r.message, message);
  }
});

test('amending one line item changes that item only; hostile or empty input is refused in Danish', () => {
  const items = [
    { code: 'ophold', monthly: 4_500_000 },
    { code: 'taxi', monthly: 300_000, until: '2026-09-30' },
  ];
  assert.deepEqual(itemAmendment(items, '2026-03-01', { ydelse: 'taxi', pris: '3500', til: '' }), [
    { code: 'ophold', monthly: 4_500_000 },
    { code: 'taxi', monthly: 350_000, until: '2026-09-30' },
  ]);
  assert.deepEqual(itemAmendment(items, '2026-03-01', { ydelse: 'ophold', pris: '', til: '2026-12-31' }), [
    { code: 'ophold', monthly: 4_500_000, until: '2026-12-31' },
    { code: 'taxi', monthly: 300_000, until: '2026-09-30' },
  ]);
  for (const [form, says] of [
    [{ ydelse: '<script>', pris: '1' }, /Vælg ydelsen fra listen/],
    [{ ydelse: 'taxi', pris: '', til: '' }, /Angiv en ny pris/],
    [{ ydelse: 'taxi', pris: '<b>1</b>' }, /Prisen for taxi skal være et helt tal/],
    [{ ydelse: 'taxi', pris: '010203-1234' }, /Prisen for taxi skal være et helt tal/],
    [{ ydelse: 'taxi', til: '"><img src=x>' }, /Slutdatoen skal være en dato/],
    [{ ydelse: 'taxi', til: '2026-02-30x' }, /Slutdatoen skal være en dato/],
    [{ ydelse: 'taxi', til: '2026-03-01' }, /efter kontraktens start \(2026-03-01\)/],
  ] as const)
    assert.throws(
      () => itemAmendment(items, '2026-03-01', form as Record<string, string>),
      (e: unknown) => e instanceof FormError && e.code === 'FORM_INVALID' && says.test(e.message),
      JSON.stringify(form),
    );
});
