/**
 * Versions in the handshake: each host announces `tillid/<software> protocol/<n>` through libp2p
 * identify. A peer of another protocol is named in a warning that says which side must upgrade,
 * and nothing crashes; the gossip topics and sync protocol carry the protocol version, so the two
 * never exchange blocks or votes.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { topicName } from '../../../node/p2p/gossip.ts';
import { createHost } from '../../../node/p2p/host.ts';
import { protocolId } from '../../../node/p2p/sync.ts';
import type { KeyPair } from '../../../node/protocol/signature.ts';
import {
  AGENT_VERSION,
  PROTOCOL_VERSION,
  parseAgentVersion,
  SOFTWARE_VERSION,
} from '../../../node/protocol/version.ts';
import { generateKeyPair, waitFor } from '../../helpers.ts';

function capturingLog() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

async function host(
  t: { after(fn: () => Promise<void>): void },
  key: KeyPair,
  keys: KeyPair[],
  o: { peers?: string[]; agentVersion?: string; log?: ReturnType<typeof capturingLog>['log'] } = {},
) {
  const allowed = new Set(keys.map((k) => k.publicKey));
  const running = await createHost({
    identity: key,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    peers: o.peers ?? [],
    topics: [topicName('tillid-test', 'vote')],
    allowed: (k) => allowed.has(k),
    log: o.log ?? pino({ level: 'silent' }),
    ...(o.agentVersion ? { agentVersion: o.agentVersion } : {}),
  });
  t.after(() => running.stop());
  return running;
}

test('the agent version names software and protocol; topics and sync carry the protocol', () => {
  assert.deepEqual(parseAgentVersion(AGENT_VERSION), {
    software: SOFTWARE_VERSION,
    protocol: PROTOCOL_VERSION,
  });
  assert.equal(parseAgentVersion('js-libp2p/3.0.0'), undefined);
  assert.equal(topicName('c', 'vote'), `/tillid/c/vote/${PROTOCOL_VERSION}`);
  assert.equal(protocolId('c'), `/tillid/c/sync/${PROTOCOL_VERSION}`);
});

test('a peer of a newer protocol is named in a warning; both keep running', async (t) => {
  const [a, b, c] = [generateKeyPair(), generateKeyPair(), generateKeyPair()] as KeyPair[];
  const keys = [a, b, c] as KeyPair[];
  const { log, lines } = capturingLog();
  const old = await host(t, a as KeyPair, keys, { log });
  const address = old.host.getMultiaddrs()[0]?.toString() as string;
  const same = await host(t, b as KeyPair, keys, { peers: [address] });
  const next = PROTOCOL_VERSION + 1;
  const newer = await host(t, c as KeyPair, keys, {
    peers: [address],
    agentVersion: `tillid/9.9.9 protocol/${next}`,
  });

  const agents = await waitFor(async () => {
    const seen = old.peerAgents();
    return Object.keys(seen).length === 2 ? seen : undefined;
  });
  assert.equal(agents[same.host.peerId.toString()], AGENT_VERSION);
  assert.equal(agents[newer.host.peerId.toString()], `tillid/9.9.9 protocol/${next}`);
  const warning = lines.find((l) => l.level === 40 && l.peer === newer.host.peerId.toString());
  assert.ok(warning, JSON.stringify(lines));
  assert.match(
    String(warning.msg),
    new RegExp(`protocol ${next}, this node protocol ${PROTOCOL_VERSION}: .*upgrade this node`),
  );
  assert.ok(
    !lines.some((l) => l.level === 40 && l.peer === same.host.peerId.toString()),
    'the same protocol is quiet',
  );
  assert.equal(old.host.status, 'started');
  assert.equal(newer.host.status, 'started');
});
