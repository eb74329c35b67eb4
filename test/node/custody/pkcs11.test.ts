/**
 * Keys in an HSM, against a real SoftHSM2 token (Debian's softhsm2; .ci/run installs it): generated
 * in the token or imported into it through the CLI, signing under the one signature rule, clear
 * refusals for a wrong PIN, a missing token or key, and the signed-vote log's "never sign twice"
 * holding when the key lives in the HSM (the log is the node's, wherever the key is).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type ConsensusApplication, TendermintEngine } from '../../../node/consensus/tendermint/engine.ts';
import { FileSignedVoteLog } from '../../../node/consensus/tendermint/file-signed-log.ts';
import { signProposal, signVote } from '../../../node/consensus/tendermint/messages.ts';
import { scheduleOrder } from '../../../node/consensus/tendermint/schedule.ts';
import type { MemorySignedVoteLog } from '../../../node/consensus/tendermint/signed-log.ts';
import { writeEncryptedKeyFile } from '../../../node/custody/key-file.ts';
import { failStop, openKeyArgument } from '../../../node/custody/open-signer.ts';
import { Pkcs11Signer } from '../../../node/custody/pkcs11.ts';
import { type Block, blockHash } from '../../../node/protocol/block.ts';
import { type Hex, sha256Hex } from '../../../node/protocol/hash.ts';
import {
  generateKeyPair,
  type MessageSigner,
  Signer,
  verifySignature,
} from '../../../node/protocol/signature.ts';
import { tempDir } from '../../fixtures/node.ts';
import { tillid } from '../../fixtures/processes.ts';
import { softHsmToken, useSoftHsm } from '../../fixtures/softhsm.ts';

// One SoftHSM2 configuration for this file's process and its CLI children.
const root = mkdtempSync(join(tmpdir(), 'tillid-softhsm-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
useSoftHsm(root);

test('tillid keys hsm-generate makes a key inside the token; it signs under the signature rule', async (t) => {
  const dir = tempDir(t);
  const token = softHsmToken(dir, 'generate-test');
  const made = await tillid(['keys', 'hsm-generate', '--hsm', token.hsmFile]);
  assert.equal(made.code, 0, made.stderr);
  const { publicKey } = JSON.parse(made.stdout);
  const signer = await openKeyArgument(token.hsmFile, undefined);
  t.after(() => signer.close?.());
  assert.equal(signer.publicKey, publicKey);
  const message = Buffer.from('tillid/tx/v1\0example');
  assert.ok(verifySignature(publicKey, message, signer.sign(message)));
  assert.deepEqual(JSON.parse(JSON.stringify(signer)), {
    publicKey,
    hsm: { token: 'generate-test', keyLabel: 'authority' },
  });
  // A second signer on the same token (login is per token): closing one leaves the other working.
  const second = await openKeyArgument(token.hsmFile, undefined);
  second.close?.();
  assert.ok(verifySignature(publicKey, message, signer.sign(message)), 'the first still signs');
  const twice = await tillid(['keys', 'hsm-generate', '--hsm', token.hsmFile]);
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, /already holds a key labelled "authority"/);
});

test('tillid keys hsm-import moves an encrypted key file into the token: same key, same signatures', async (t) => {
  const dir = tempDir(t);
  const token = softHsmToken(dir, 'import-test');
  const key = generateKeyPair();
  const pass = join(dir, 'pass');
  writeFileSync(pass, 'a long enough passphrase\n', { mode: 0o600 });
  writeEncryptedKeyFile(join(dir, 'key.json'), key, 'a long enough passphrase');
  const wrongPass = join(dir, 'wrong-pass');
  writeFileSync(wrongPass, 'another passphrase entirely\n', { mode: 0o600 });
  const refused = await tillid([
    'keys',
    'hsm-import',
    '--key',
    join(dir, 'key.json'),
    '--hsm',
    token.hsmFile,
    '--passphrase-file',
    wrongPass,
  ]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /wrong passphrase/);
  const imported = await tillid([
    'keys',
    'hsm-import',
    '--key',
    join(dir, 'key.json'),
    '--hsm',
    token.hsmFile,
    '--passphrase-file',
    pass,
  ]);
  assert.equal(imported.code, 0, imported.stderr);
  assert.equal(JSON.parse(imported.stdout).publicKey, key.publicKey);
  const hsm = Pkcs11Signer.open(token.config);
  t.after(() => hsm.close());
  const message = Buffer.from('same key');
  // Ed25519 is deterministic: the token's signature is the key file's, byte for byte.
  assert.equal(hsm.sign(message), new Signer(key).sign(message));
});

test('a wrong PIN, an unknown token or a token without the key: a clear message, exit 1, nothing changed', async (t) => {
  const dir = tempDir(t);
  const token = softHsmToken(dir, 'refusals-test');
  const wrongPin = join(dir, 'wrong.pin');
  writeFileSync(wrongPin, 'not-the-pin\n', { mode: 0o600 });
  assert.throws(
    () => Pkcs11Signer.open({ ...token.config, pinFile: wrongPin }),
    /wrong PIN for token "refusals-test"/,
  );
  assert.throws(
    () => Pkcs11Signer.open({ ...token.config, token: 'no-such-token' }),
    /no token labelled "no-such-token"/,
  );
  assert.throws(() => Pkcs11Signer.open(token.config), /holds no Ed25519 private key labelled "authority"/);
  assert.throws(
    () => Pkcs11Signer.open({ ...token.config, module: join(dir, 'missing.so') }),
    /cannot load the PKCS#11 module .*apt-get install softhsm2/,
  );
  // Through the CLI: a wrong PIN on hsm-generate leaves the token without a key.
  const badHsm = join(dir, 'bad.hsm.json');
  writeFileSync(badHsm, JSON.stringify({ hsm: { ...token.config, pinFile: wrongPin } }));
  const generated = await tillid(['keys', 'hsm-generate', '--hsm', badHsm]);
  assert.equal(generated.code, 1);
  assert.match(generated.stderr, /tillid: wrong PIN/);
  assert.throws(() => Pkcs11Signer.open(token.config), /holds no Ed25519 private key/, 'nothing was created');
  const sent = await tillid([
    'tx',
    'send',
    '--key',
    token.hsmFile,
    '--hash',
    'a'.repeat(64),
    '--api',
    'http://127.0.0.1:9',
  ]);
  assert.equal(sent.code, 1);
  assert.match(sent.stderr, /holds no Ed25519 private key labelled "authority"/);
});

test('the signed-vote log holds with an HSM key: a restarted authority re-sends what it signed, never signs twice', async (t) => {
  const dir = tempDir(t);
  const token = softHsmToken(dir, 'votes-test');
  const made = await tillid(['keys', 'hsm-generate', '--hsm', token.hsmFile]);
  assert.equal(made.code, 0, made.stderr);
  let hsm: MessageSigner = Pkcs11Signer.open(token.config);
  // Three file-held authorities, drawn so that the HSM one is not round 0's proposer at height 1
  // (authorities[1]): it is the voter under test.
  let others: Signer[];
  let authorities: Hex[];
  do {
    others = [0, 1, 2].map(() => new Signer(generateKeyPair()));
    authorities = scheduleOrder([hsm.publicKey, ...others.map((s) => s.publicKey)]);
  } while (authorities[1] === hsm.publicKey);
  const signerOf = (pk: Hex) =>
    pk === hsm.publicKey ? hsm : (others.find((s) => s.publicKey === pk) as Signer);
  const CHAIN = 'tillid-hsm-test';
  const block = (tag: string): Block => ({
    header: {
      chainId: CHAIN,
      height: 1,
      parentHash: sha256Hex('parent'),
      txRoot: sha256Hex('none'),
      stateRoot: sha256Hex(tag),
      proposer: authorities[1] as Hex,
      timestamp: 1_001,
    },
    transactions: [],
    certificate: null,
  });
  const V = block('v');
  const W = block('w');
  const app: ConsensusApplication = {
    authoritiesAt: () => authorities,
    proposeBlock: () => block('own'),
    isValidBlock: () => true,
  };
  // Round 0's proposer at height 1 is authorities[1]; pick two other non-HSM voters.
  const proposer = signerOf(authorities[1] as Hex);
  const voters = authorities.filter((pk) => pk !== hsm.publicKey).map(signerOf);
  const proposal = (b: Block) =>
    signProposal({ chainId: CHAIN, height: 1, round: 0, block: b, validRound: -1 }, proposer);
  const prevote = (s: MessageSigner, b: Block) =>
    signVote({ chainId: CHAIN, type: 'prevote', height: 1, round: 0, blockHash: blockHash(b.header) }, s);
  const logPath = join(dir, 'signed-votes.jsonl');
  const engineWith = (signer: MessageSigner, log: FileSignedVoteLog | MemorySignedVoteLog) =>
    new TendermintEngine({ chainId: CHAIN, signer, app, signedLog: log, signatureCheck: verifySignature });

  let log = new FileSignedVoteLog(logPath);
  const before = engineWith(hsm, log);
  before.start(1);
  const outputs = [
    ...before.onProposal(proposal(V)),
    ...before.onVote(prevote(voters[0] as Signer, V)),
    ...before.onVote(prevote(voters[1] as Signer, V)),
  ];
  const ownVotes = outputs.flatMap((o) =>
    o.type === 'broadcast' && o.message.kind === 'vote' ? [o.message.vote] : [],
  );
  assert.ok(ownVotes.length > 0, 'the HSM-held authority voted');
  for (const v of ownVotes) assert.equal(v.authority, hsm.publicKey);
  const signedBefore = log.signedAt(1).length;

  // Crash: the HSM session and the log file are closed; a new process opens both again.
  hsm.close?.();
  log.close();
  hsm = Pkcs11Signer.open(token.config);
  t.after(() => hsm.close?.());
  log = new FileSignedVoteLog(logPath);
  t.after(() => log.close());
  assert.equal(log.signedAt(1).length, signedBefore, 'the log survived the restart');
  const after = engineWith(hsm, log);
  const resent = after.start(1);
  const resentVotes = resent.flatMap((o) =>
    o.type === 'broadcast' && o.message.kind === 'vote' ? [o.message.vote] : [],
  );
  assert.ok(resentVotes.length > 0, 're-sends what it signed');
  // The same votes, from the log: the prevote and the precommit for V, signed once by the token.
  assert.deepEqual(
    resentVotes.map((v) => `${v.type}:${v.blockHash}`),
    [`prevote:${blockHash(V.header)}`, `precommit:${blockHash(V.header)}`],
  );
  assert.deepEqual(resentVotes, ownVotes);
  // An equivocating proposer now shows W for round 0: nothing new is signed for that slot.
  const equivocation = after.onProposal(proposal(W));
  assert.deepEqual(
    equivocation.filter((o) => o.type === 'broadcast' && o.message.kind === 'vote'),
    [],
    'no second vote for a slot already signed',
  );
  assert.equal(log.signedAt(1).length, signedBefore, 'nothing new recorded');
});

test('an HSM that fails to sign stops the node (fail-stop): the caller and the node are both told', async (t) => {
  const dir = tempDir(t);
  const token = softHsmToken(dir, 'fail-stop-test');
  assert.equal((await tillid(['keys', 'hsm-generate', '--hsm', token.hsmFile])).code, 0);
  const hsm = Pkcs11Signer.open(token.config);
  const failures: string[] = [];
  const signer = failStop(hsm, (e) => failures.push(e.message));
  const message = Buffer.from('a vote');
  assert.ok(verifySignature(hsm.publicKey, message, signer.sign(message)));
  assert.deepEqual(failures, []);
  hsm.close(); // the session is gone, as when the HSM restarts
  assert.throws(() => signer.sign(message), /the HSM session is closed/);
  assert.deepEqual(failures, ['the HSM session is closed'], 'the node is told, and stops (open.ts)');
  assert.deepEqual(JSON.parse(JSON.stringify(signer)).publicKey, hsm.publicKey);
});
