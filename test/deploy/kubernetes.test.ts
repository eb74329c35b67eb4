/**
 * The Kubernetes manifests deploy/kubernetes.ts generates for 4- and 98-municipality deployments,
 * validated offline against the Kubernetes API schemas (kubernetes-models): a central operator's
 * network with its gateway, and one municipality's own node. No cluster runs here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1';
import type { Member } from '../../deploy/generate.ts';
import {
  kubernetesMunicipality,
  kubernetesNetwork,
  nodeName,
  quorum,
  toYaml,
} from '../../deploy/kubernetes.ts';
import { validateConfig } from '../../node/config.ts';
import { peerIdForPublicKey } from '../../node/p2p/identity.ts';
import { decodeGenesis, genesisHash } from '../../node/protocol/genesis.ts';
import { generateKeyPair } from '../../node/protocol/signature.ts';

// biome-ignore lint/suspicious/noExplicitAny: manifests are plain JSON
type Manifest = Record<string, any>;

const MODELS: Record<string, new (data: Manifest) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

function validate(manifests: readonly Manifest[]): void {
  for (const m of manifests) {
    const Model = MODELS[`${m.apiVersion}/${m.kind}`];
    assert.ok(Model, `no schema for ${m.apiVersion} ${m.kind}`);
    assert.doesNotThrow(() => new Model(m).validate(), `${m.kind} ${m.metadata?.name}`);
    assert.match(m.metadata.name, /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'a DNS-1123 name');
  }
  const keys = manifests.map((m) => `${m.kind}/${m.metadata.namespace ?? ''}/${m.metadata.name}`);
  assert.equal(new Set(keys).size, keys.length, 'names are unique per kind');
}

const members = (n: number): Member[] =>
  Array.from({ length: n }, (_, i) => ({
    name: i === 0 ? 'Høje-Taastrup Kommune' : `Kommune ${String(i + 1).padStart(2, '0')}`,
    cvr: String(29189846 + i),
    publicKey: generateKeyPair().publicKey,
    host: `10.20.${Math.floor(i / 200)}.${(i % 200) + 1}`,
  }));

const options = {
  namespace: 'tillid',
  chainId: 'tillid-k8s',
  image: 'registry.example/tillid/node:0.1.0',
  gatewayImage: 'registry.example/tillid/gateway:0.1.0',
  blockIntervalMs: 500,
  storage: '20Gi',
  genesisTime: 1_780_000_000_000,
};

const byKind = (manifests: readonly Manifest[], kind: string) => manifests.filter((m) => m.kind === kind);

for (const n of [4, 98]) {
  test(`a central operator's network of ${n} municipalities validates and keeps a quorum`, async () => {
    const list = members(n);
    const { manifests, genesisHash: hash } = await kubernetesNetwork(list, options);
    validate(manifests);
    const sets = byKind(manifests, 'StatefulSet');
    assert.equal(sets.length, n + 1, 'one StatefulSet per authority, plus the gateway');
    const pdb = byKind(manifests, 'PodDisruptionBudget')[0];
    assert.equal(pdb?.spec.minAvailable, quorum(n));
    assert.equal(quorum(4), 3);
    assert.equal(quorum(98), 66);
    for (const m of list) {
      const name = nodeName(m);
      const set = sets.find((s) => s.metadata.name === name) as Manifest;
      assert.equal(set.spec.replicas, 1, 'a node is its key: never two pods');
      const pod = set.spec.template.spec;
      const container = pod.containers[0];
      assert.equal(container.livenessProbe.httpGet.path, '/healthz');
      assert.equal(container.readinessProbe.httpGet.path, '/readyz');
      assert.ok(container.resources.requests.cpu && container.resources.requests.memory);
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(
        pod.volumes.find((v: Manifest) => v.name === 'key').secret.secretName,
        `${name}-key`,
        'the key comes from a Secret the operator creates',
      );
      assert.equal(set.spec.volumeClaimTemplates[0].spec.resources.requests.storage, '20Gi');
      // HTTPS only, with the operator's certificate from a kubernetes.io/tls Secret; probes follow.
      assert.equal(pod.volumes.find((v: Manifest) => v.name === 'tls').secret.secretName, `${name}-tls`);
      const tlsMount = container.volumeMounts.find((v: Manifest) => v.name === 'tls');
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'])
        assert.equal(container[probe].httpGet.scheme, 'HTTPS', probe);
      assert.equal(set.spec.template.metadata.annotations['prometheus.io/scheme'], 'https');
      const tlsNames = set.spec.template.metadata.annotations['tillid.dk/tls-names'].split(',');
      assert.ok(tlsNames.includes(`${name}-0.${name}.tillid.svc.cluster.local`), 'the name peers dial');
      assert.ok(tlsNames.includes(`${name}.tillid.svc`), 'the Service name a gateway dials');
      // The config the node will read is valid and names its peers by the Services' pod DNS names.
      const cm = byKind(manifests, 'ConfigMap').find((c) => c.metadata.name === `${name}-config`) as Manifest;
      const config = validateConfig(JSON.parse(cm.data['config.json']), '/etc/tillid');
      assert.equal(config.p2p?.peers.length, n - 1);
      assert.deepEqual(config.api.tls, {
        cert: `${tlsMount.mountPath}/tls.crt`,
        key: `${tlsMount.mountPath}/tls.key`,
      });
      const other = list.find((x) => x !== m) as Member;
      assert.ok(
        config.p2p?.peers.includes(
          `/dns4/${nodeName(other)}-0.${nodeName(other)}.tillid.svc.cluster.local/tcp/7201/p2p/${await peerIdForPublicKey(other.publicKey)}`,
        ),
      );
      assert.equal(genesisHash(decodeGenesis(JSON.parse(cm.data['genesis.json']))), hash);
    }
    const policies = byKind(manifests, 'NetworkPolicy');
    assert.ok(
      policies.some((p) => p.metadata.name === 'default-deny-ingress' && p.spec.ingress === undefined),
    );
    const nodes = policies.find((p) => p.metadata.name === 'nodes') as Manifest;
    const p2p = nodes.spec.ingress.find((r: Manifest) => r.ports[0].port === 7201);
    assert.deepEqual(p2p.from, [{ podSelector: { matchLabels: { 'tillid.dk/member': 'true' } } }]);
    const yaml = toYaml(manifests);
    assert.doesNotMatch(yaml, /privateKey|BEGIN PRIVATE/, 'no private key in any manifest');
    assert.equal(yaml.split('\n---\n').length, manifests.length);
  });

  test(`one municipality's own node among ${n} validates; p2p only from the other members`, async () => {
    const list = members(n);
    const network = await kubernetesNetwork(list, options);
    const genesis = decodeGenesis(
      JSON.parse(byKind(network.manifests, 'ConfigMap')[0]?.data['genesis.json'] as string),
    );
    await assert.rejects(kubernetesMunicipality(list, list[0]?.name as string, options), /genesis/);
    const { manifests, genesisHash: hash } = await kubernetesMunicipality(list, list[0]?.name as string, {
      ...options,
      genesis,
    });
    assert.equal(hash, network.genesisHash, 'every municipality starts from the ceremony genesis');
    validate(manifests);
    assert.equal(byKind(manifests, 'StatefulSet').length, 1);
    const policy = byKind(manifests, 'NetworkPolicy').find((p) => p.metadata.name === 'node') as Manifest;
    const p2p = policy.spec.ingress.find((r: Manifest) => r.ports[0].port === 7201);
    assert.equal(p2p.from.length, n - 1);
    assert.ok(!p2p.from.some((f: Manifest) => f.ipBlock.cidr === `${list[0]?.host}/32`));
    const lb = byKind(manifests, 'Service').find((s) => s.spec.type === 'LoadBalancer') as Manifest;
    assert.equal(lb.spec.loadBalancerSourceRanges.length, n - 1);
  });
}

test('the schema check catches a wrong manifest (it is not a formality)', async () => {
  const { manifests } = await kubernetesNetwork(members(4), options);
  const set = structuredClone(byKind(manifests, 'StatefulSet')[0]) as Manifest;
  set.spec.template.spec.containers[0].ports[0].containerPort = '7101';
  assert.throws(() => new StatefulSet(set).validate(), /containerPort must be integer/);
  const pdb = structuredClone(byKind(manifests, 'PodDisruptionBudget')[0]) as Manifest;
  delete pdb.spec.selector;
  pdb.spec.minAvailable = { three: 3 };
  assert.throws(() => new PodDisruptionBudget(pdb).validate());
});

test('--new-network gives each node an init step that writes the empty vote log on a fresh volume only; without it none', async () => {
  const fresh = await kubernetesNetwork(members(4), { ...options, newNetwork: true });
  validate(fresh.manifests);
  for (const set of byKind(fresh.manifests, 'StatefulSet').filter((s) =>
    s.metadata.name.startsWith('node-'),
  )) {
    const init = (set.spec.template.spec.initContainers as Manifest[])[0] as Manifest;
    assert.deepEqual(init.args, [
      'keys',
      'provision-log',
      '--data-dir',
      '/var/lib/tillid/data',
      '--unless-used',
    ]);
    assert.equal(init.image, set.spec.template.spec.containers[0].image);
    // The node's data directory is on the volume the init step writes to.
    const config = JSON.parse(
      byKind(fresh.manifests, 'ConfigMap').find((c) => c.metadata.name === `${set.metadata.name}-config`)
        ?.data['config.json'],
    );
    assert.equal(config.dataDir, '/var/lib/tillid/data');
  }
  const later = await kubernetesNetwork(members(4), options);
  for (const set of byKind(later.manifests, 'StatefulSet'))
    assert.equal(
      set.spec.template.spec.initContainers?.some((c: Manifest) => c.name === 'provision-vote-log') ?? false,
      false,
    );
});
