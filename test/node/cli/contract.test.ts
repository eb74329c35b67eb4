/**
 * `tillid party …` and `tillid contract …` against a real single-authority node process, as an
 * operator would run them: register the parties, define a template, draft a contract, activate it
 * with an offline co-signature, report, suspend by two approvals, read it back — and the errors a
 * typo or a refusal gives.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writePlaintextKeyFile } from '../../../node/custody/key-file.ts';
import { THROWAWAY_PASSPHRASE_FILE } from '../../../node/custody/passphrase.ts';
import { generateKeyPair } from '../../../node/protocol/signature.ts';
import { DAY_MS, formatDate, parseDate } from '../../../node/state/contracts/calendar.ts';
import { actorId, CARE_HOME_CVR, MUNICIPALITY_CVR } from '../../contracts.ts';
import { getJson, tempDir, waitFor } from '../../helpers.ts';
import { initLocalNetwork, startNodeProcess, stopNodeProcess, tillid } from '../../process.ts';

test('party and contract commands: a contract from template to suspension, with clear errors', async (t) => {
  const dir = tempDir(t);
  const [config] = await initLocalNetwork(dir, 1, 'tillid-cli-contract', 9, [
    '--business-days-per-block',
    '2',
  ]);
  const node = await startNodeProcess(config as string);
  t.after(() => stopNodeProcess(node, 'SIGKILL'));
  const keyFile = (name: string) => {
    const key = generateKeyPair();
    const path = join(dir, `${name}.json`);
    writePlaintextKeyFile(path, key);
    return { path, publicKey: key.publicKey };
  };
  const [admin, submitter, careHome] = [keyFile('admin'), keyFile('submitter'), keyFile('care-home')];
  const run = async (args: string[], expectCode = 0) => {
    const result = await tillid([...args, '--api', node.url]);
    assert.equal(result.code, expectCode, `${args.slice(0, 2).join(' ')}: ${result.stdout}${result.stderr}`);
    return result;
  };
  /** The last JSON line a signing command printed with --wait is the final status. */
  const final = async (args: string[]) => {
    const { stdout } = await run([...args, '--wait']);
    const [submitted, outcome] = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(outcome.status, 'finalized');
    return submitted as { hash: string; [k: string]: unknown };
  };
  const municipal = (role: string, label: string) => [
    '--key',
    submitter.path,
    '--party',
    MUNICIPALITY_CVR,
    '--role',
    role,
    '--actor',
    actorId(label),
  ];
  const provider = [
    '--key',
    careHome.path,
    '--party',
    CARE_HOME_CVR,
    '--role',
    'provider-representative',
    '--actor',
    actorId('care-home-rep'),
  ];
  const show = async (id: string) => JSON.parse((await run(['contract', 'show', '--id', id])).stdout);

  await final([
    'party',
    'register',
    '--key',
    join(config as string, '..', 'key.json'),
    '--passphrase-file',
    join(config as string, '..', THROWAWAY_PASSPHRASE_FILE),
    '--cvr',
    MUNICIPALITY_CVR,
    '--kind',
    'municipality',
    '--grant',
    `${admin.publicKey}::admin`,
    '--grant',
    `${submitter.publicKey}:caseworker,centre-chief,director`,
  ]);
  await final([
    'party',
    'register',
    '--key',
    admin.path,
    '--cvr',
    CARE_HOME_CVR,
    '--kind',
    'provider',
    '--grant',
    `${careHome.publicKey}:provider-representative:admin`,
  ]);
  assert.equal((await getJson(`${node.url}/v1/parties/${CARE_HOME_CVR}`)).kind, 'provider');
  const template = await final([
    'contract',
    'template',
    ...municipal('director', 'director-1'),
    '--code',
    'placement',
    // Business time runs a day per 100 ms block here, and each CLI run takes a second or more.
    '--approval-lifetime-days',
    '365',
  ]);
  assert.equal(template.template, `${MUNICIPALITY_CVR}/placement`);

  const status = async () => getJson(`${node.url}/v1/status`);
  const today = parseDate((await status()).clock.businessDate) as number;
  const next = new Date((today + 4) * DAY_MS);
  const startDay = Date.UTC(next.getUTCFullYear(), next.getUTCMonth() + 1, 1) / DAY_MS;
  const { hash: contract } = await final([
    'contract',
    'create',
    ...municipal('caseworker', 'caseworker-1'),
    '--template',
    `${MUNICIPALITY_CVR}/placement`,
    '--provider',
    CARE_HOME_CVR,
    '--start',
    formatDate(startDay),
    '--item',
    'residential:4500000',
    '--item',
    'school:1000000',
    '--report-every-months',
    '1',
    '--kle',
    '27.24.00',
  ]);
  const drafted = await show(contract);
  assert.equal(drafted.status, 'draft');
  assert.deepEqual(
    drafted.versions[0].terms.items.map((i: { monthly: number }) => i.monthly),
    [4_500_000, 1_000_000],
  );

  // Activation with an offline co-signature: draft → co-sign (nothing sent) → propose with it.
  const draft = join(dir, 'activate.json');
  const cosignature = join(dir, 'care-home-cosignature.json');
  await run([
    'contract',
    'propose',
    ...municipal('caseworker', 'caseworker-1'),
    '--contract',
    contract,
    '--action',
    'activate',
    '--draft-out',
    draft,
  ]);
  await run(['contract', 'cosign', ...provider, '--draft', draft, '--out', cosignature]);
  assert.equal((await show(contract)).status, 'draft', 'drafting and co-signing send nothing');
  await final([
    'contract',
    'propose',
    ...municipal('caseworker', 'caseworker-1'),
    '--draft',
    draft,
    '--cosignature',
    cosignature,
  ]);
  assert.equal((await show(contract)).status, 'active');

  // The provider's status report, from a file committed with a fresh salt.
  await waitFor(
    async () => ((parseDate((await status()).clock.businessDate) as number) >= startDay ? true : undefined),
    30_000,
  );
  const reportFile = join(dir, 'report.txt');
  writeFileSync(reportFile, 'Statusrapport, måned 1');
  const report = await final([
    'contract',
    'report',
    ...provider,
    '--contract',
    contract,
    '--period',
    '1',
    '--file',
    reportFile,
  ]);
  assert.match(report.salt as string, /^[0-9a-f]{64}$/);
  assert.equal((await show(contract)).reports['1'].document, report.document);

  // Suspension by two centre chiefs: propose, then approve.
  const { hash: motion } = await final([
    'contract',
    'propose',
    ...municipal('centre-chief', 'chief-1'),
    '--contract',
    contract,
    '--action',
    'suspend',
  ]);
  assert.equal((await show(contract)).status, 'active');
  await final(['contract', 'approve', ...municipal('centre-chief', 'chief-2'), '--motion', motion]);
  assert.equal((await show(contract)).status, 'suspended');
  const listed = JSON.parse((await run(['contract', 'list', '--party', CARE_HOME_CVR])).stdout);
  assert.deepEqual(
    listed.map((c: { id: string }) => c.id),
    [contract],
  );

  // Help, typos and refusals.
  const help = await run(['contract', '--help']);
  assert.match(help.stdout, /contract create --template/);
  assert.match((await run(['party', 'register', '--help'])).stdout, /--grant <publicKey>/);
  const missing = await run(['contract', 'create', ...municipal('caseworker', 'caseworker-1')], 2);
  assert.match(missing.stderr, /--item is required/);
  assert.match(missing.stderr, /usage: tillid contract/);
  const badItem = await run(
    ['contract', 'create', ...municipal('caseworker', 'caseworker-1'), '--item', 'residential'],
    2,
  );
  assert.match(badItem.stderr, /--item residential: expected <code>:<øre a month>/);
  assert.match((await run(['contract', 'frobnicate'], 2)).stderr, /unknown command: contract frobnicate/);
  const named = await run(
    [
      'contract',
      'approve',
      ...municipal('director', 'director-1').slice(0, 6),
      '--actor',
      'Jens Jensen',
      '--motion',
      motion,
    ],
    1,
  );
  assert.match(named.stderr, /^tillid: TX_PAYLOAD_INVALID: .*actor/m);
  const refused = await run(
    ['contract', 'approve', ...municipal('director', 'director-1'), '--motion', 'ab'.repeat(32), '--wait'],
    1,
  );
  const outcome = JSON.parse(refused.stdout.trim().split('\n')[1] as string);
  assert.equal(outcome.status, 'rejected');
  assert.equal(outcome.code, 'MOTION_NOT_FOUND');
  assert.match((await run(['contract', 'show', '--id', 'cd'.repeat(32)], 1)).stderr, /CONTRACT_NOT_FOUND/);
  assert.equal((await show(contract)).status, 'suspended', 'nothing the refusals sent changed the contract');
});
