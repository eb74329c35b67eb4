/**
 * The citizen's say, without a network: hostile message text is refused with a Danish reason
 * (`checkText`); a grant's life — given (its commitment anchored, the code kept only as a hash),
 * redeemed once by one person, refused to anyone else, refused after its last day (GRANT_EXPIRED)
 * and after revocation (GRANT_REVOKED), both survive a restart. The chain here is the list of
 * commitments the store asked to anchor (the browser test anchors on a real node).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Grants, grantCommitment, granteeOf } from '../../../gateway/citizens/grants.ts';
import { CitizenMessages, checkText } from '../../../gateway/citizens/messages.ts';
import { FileDocumentStore } from '../../../gateway/documents/file-store.ts';
import { CaseSystemEmulator } from '../../../gateway/emulators/case-system-emulator.ts';
import { tempDir } from '../../fixtures/node.ts';

/** Every file under `dir`, recursively. */
const filesUnder = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir).flatMap((name) => {
        const p = join(dir, name);
        return statSync(p).isDirectory() ? filesUnder(p) : [p];
      })
    : [];

const refusal = (code: string, message: RegExp) => (e: unknown) => {
  const err = e as { code?: string; status?: number; message?: string };
  assert.equal(err.code, code);
  assert.match(err.message ?? '', message);
  return true;
};

test('message text: plain text with markup kept as text; control, invisible and CPR-like text refused', () => {
  assert.equal(
    checkText('  Taxaen kommer ikke om torsdagen.\r\n<b>Ret det</b>  '),
    'Taxaen kommer ikke om torsdagen.\n<b>Ret det</b>',
  );
  for (const [text, reason] of [
    ['', /Skriv en besked/],
    ['   \n ', /Skriv en besked/],
    [42, /Skriv en besked/],
    ['x'.repeat(2001), /højst være 2000 tegn/],
    ['Ret \u202edette', /usynlige tegn eller styretegn/],
    ['nul\u0000byte', /usynlige tegn eller styretegn/],
    ['skjult\u200bord', /usynlige tegn eller styretegn/],
    ['Mit barn er 150515-0008', /CPR-numre/],
    ['Mit barn er 1505150008.', /CPR-numre/],
  ] as const)
    assert.throws(() => checkText(text), refusal('MESSAGE_REFUSED', reason), JSON.stringify(text));
  // Twelve digits (a phone number with country code) are not a CPR number.
  assert.equal(checkText('Ring på 004512345678'), 'Ring på 004512345678');
});

test('grants: given with a commitment on chain, redeemed once, refused when expired or revoked, kept across a restart', async (t) => {
  const dir = tempDir(t, 'tillid-grants-');
  const file = join(dir, 'citizens', 'grants.jsonl');
  const chain: { hash: string; docType: string; ref: string }[] = [];
  let clock = Date.parse('2026-03-01T09:00:00Z');
  const open = () =>
    Grants.open({
      file,
      anchor: async (_m, hash, docType, ref) => {
        chain.push({ hash, docType, ref });
        return `tx-${chain.length}`;
      },
      now: () => new Date(clock),
    });
  const grants = open();
  const caseRef = 'c'.repeat(64);
  const adviser = granteeOf('https://mitid.example', 'sub-adviser');
  const someoneElse = granteeOf('https://mitid.example', 'sub-other');

  assert.throws(() => grants.checkUntil('2026-03-01'), refusal('BAD_REQUEST', /efter i dag/));
  assert.throws(() => grants.checkUntil('2027-06-01'), refusal('BAD_REQUEST', /senest 2027-03-02/));
  assert.throws(() => grants.checkUntil('2026-02-30'), refusal('BAD_REQUEST', /Vælg den sidste dag/));
  const until = grants.checkUntil('2026-03-10');
  const { grant, code } = await grants.give({
    grantor: 'handle-1',
    caseRef,
    municipality: '29189846',
    until,
  });
  assert.match(code, /^[A-Z2-9]{4}(-[A-Z2-9]{4}){3}$/);
  assert.deepEqual(chain.at(-1), {
    hash: grantCommitment(grant.salt, grant),
    docType: 'citizen-grant',
    ref: `tillid:grant:${grant.id}`,
  });
  const stored = readFileSync(file, 'utf8');
  assert.equal(stored.includes(code.replace(/-/g, '')), false, 'the code is kept only as a hash');
  assert.equal(stored.includes('sub-adviser'), false);
  assert.equal(grants.stateOf(grant), 'waiting');

  // Nobody uses it before it is redeemed; the code works case-insensitively, once, for one person.
  assert.throws(() => grants.use(grant.id, adviser), refusal('GRANT_NOT_FOUND', /ingen fuldmagt/));
  await assert.rejects(
    grants.redeem('AAAA-BBBB-CCCC-DDDD', adviser),
    refusal('GRANT_NOT_FOUND', /Koden passer ikke/),
  );
  await grants.redeem(code.toLowerCase(), adviser);
  assert.equal(grants.use(grant.id, adviser).caseRef, caseRef);
  await assert.rejects(grants.redeem(code, someoneElse), refusal('GRANT_NOT_FOUND', /Koden passer ikke/));
  assert.throws(() => grants.use(grant.id, someoneElse), refusal('GRANT_NOT_FOUND', /ingen fuldmagt/));

  // The last day still counts; the day after, it is refused, with the date in Danish.
  clock = Date.parse('2026-03-10T22:00:00Z');
  assert.equal(grants.use(grant.id, adviser).id, grant.id);
  clock = Date.parse('2026-03-11T00:00:01Z');
  assert.throws(() => grants.use(grant.id, adviser), refusal('GRANT_EXPIRED', /udløb den 2026-03-10/));
  assert.equal(open().stateOf(grant), 'expired');

  // A second grant, revoked: its revocation anchored too, and refused after a restart.
  clock = Date.parse('2026-04-01T08:00:00Z');
  const second = await grants.give({
    grantor: 'handle-1',
    caseRef,
    municipality: '29189846',
    until: '2026-05-01',
  });
  await grants.redeem(second.code, adviser);
  await grants.revoke(second.grant.id, caseRef);
  assert.deepEqual(
    chain.slice(-1).map((x) => [x.docType, x.ref]),
    [['citizen-grant-revocation', `tillid:grant-revocation:${second.grant.id}`]],
  );
  await assert.rejects(
    grants.revoke(second.grant.id, 'd'.repeat(64)),
    refusal('GRANT_NOT_FOUND', /ingen sådan/),
  );
  const again = open();
  assert.throws(
    () => again.use(second.grant.id, adviser),
    refusal('GRANT_REVOKED', /tilbagekaldt den 2026-04-01/),
  );
  assert.deepEqual(
    again.ofGrantee(adviser).map((g) => again.stateOf(g)),
    ['revoked', 'expired'],
  );
  assert.deepEqual(
    again.ofCase(caseRef).map((g) => g.id),
    [second.grant.id, grant.id],
  );
});

test('messages: stored encrypted, anchored, delivered to the case system’s inbox; a failed anchoring keeps nothing; a refused delivery is shown as such', async (t) => {
  const dir = tempDir(t, 'tillid-messages-');
  const store = await FileDocumentStore.open({ dir: join(dir, 'documents') });
  const caseSystem = new CaseSystemEmulator({
    municipality: '29189846',
    records: [{ cpr: '0101809995', firstName: 'Anna', caseNumbers: ['27.12.04-G01-7-26'] }],
  });
  const handle = (await caseSystem.identify('0101809995')) as string;
  const chain: { hash: string; docType: string; ref: string }[] = [];
  let nodeAnswers = true;
  const open = () =>
    CitizenMessages.open({
      file: join(dir, 'citizens', 'messages.jsonl'),
      store,
      caseSystem,
      anchor: async (_m, hash, docType, ref) => {
        if (!nodeAnswers) throw new Error('no node');
        chain.push({ hash, docType, ref });
        return `tx-${chain.length}`;
      },
    });
  const messages = open();
  const caseRef = 'c'.repeat(64);
  const base = {
    handle,
    municipality: '29189846',
    caseRef,
    caseNumber: '27.12.04-G01-7-26',
    contract: 'd'.repeat(64),
    kind: 'correction' as const,
  };
  const text = 'Taxaen kommer kl. 7.40, ikke 8.10.';
  const sent = await messages.send({ ...base, text });
  assert.deepEqual(chain.at(-1), {
    hash: sent.commitment,
    docType: 'citizen-correction',
    ref: `tillid:document:${sent.document}`,
  });
  const stored = await store.get(sent.document);
  assert.equal(stored?.bytes.toString(), text);
  assert.equal(
    (await store.meta(sent.document))?.contract,
    undefined,
    'tied to no contract: the provider does not read it',
  );
  assert.equal(caseSystem.inbox[0]?.message.text, text);
  assert.equal(caseSystem.inbox[0]?.fromCpr, '0101809995');
  for (const f of [join(dir, 'citizens', 'messages.jsonl'), ...filesUnder(join(dir, 'documents'))])
    assert.equal(readFileSync(f).includes(Buffer.from('Taxaen')), false, `no text in clear in ${f}`);
  assert.deepEqual(
    (await messages.of(caseRef)).map((x) => x.status),
    ['received'],
  );
  caseSystem.handle(sent.id);
  assert.deepEqual(
    (await open().of(caseRef)).map((x) => x.status),
    ['handled'],
    'kept across a restart, the status from the case system',
  );

  // No node: refused, and nothing kept or delivered.
  nodeAnswers = false;
  await assert.rejects(messages.send({ ...base, text: 'En anden besked' }), /no node/);
  assert.equal(caseSystem.inbox.length, 1);
  assert.equal((await messages.of(caseRef)).length, 1);
  const live = filesUnder(join(dir, 'documents', 'meta'))
    .map((f) => JSON.parse(readFileSync(f, 'utf8')) as { erased?: unknown })
    .filter((m) => !m.erased);
  assert.equal(live.length, 1, 'the unanchored copy is erased again');
  assert.equal(filesUnder(join(dir, 'documents', 'blobs')).length, 1);
  nodeAnswers = true;

  // The case system no longer knows the citizen: stored and anchored, shown as not delivered.
  const lost = await messages.send({ ...base, handle: 'unknown-handle', text: 'Tredje besked' });
  assert.equal(lost.delivered, false);
  assert.equal((await messages.of(caseRef))[0]?.status, 'undelivered');
});
