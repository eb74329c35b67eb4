/**
 * Kubernetes manifests for Tillid, from the same members.json as the key ceremony's bundles
 * (deploy/CEREMONY.md: `{ name, cvr, publicKey, host, role? }`, public keys only):
 *
 * - `network`: a central operator running every member's node in one cluster (one namespace),
 *   with the gateway. Peers find each other by the StatefulSets' stable pod DNS names.
 * - `municipality`: one municipality's own node in its own cluster; its peers are the other
 *   members' `host`s, reached on TCP 7201 through their LoadBalancer Services.
 *
 * Per node: a StatefulSet (one replica: a node IS its key) with a PersistentVolumeClaim for the
 * store, the key from a Secret `<node>-key` (created by the operator from the key.json made on the
 * node's own host — never by this generator), config and genesis from a ConfigMap, a headless
 * Service, probes on /healthz (liveness) and /readyz (readiness), resource requests, and a
 * non-root, read-only-root security context. A PodDisruptionBudget keeps a quorum
 * (floor(2n/3)+1) of authorities up during voluntary disruptions (drains, upgrades), and
 * NetworkPolicies deny ingress by default, let only member pods (or, per municipality, the other
 * members' addresses) reach p2p, and only the gateway and monitoring reach the node API.
 *
 * Written as one multi-document YAML file whose documents are JSON (valid YAML): `kubectl apply -f`.
 * Validated in tests against the Kubernetes API schemas (kubernetes-models); no cluster has run them.
 */
import { peerIdForPublicKey } from '../node/p2p/identity.ts';
import { DEFAULT_PARAMS, decodeGenesis, type Genesis, genesisHash } from '../node/protocol/genesis.ts';
import { gatewayObjects } from './kubernetes-gateway.ts';
import {
  APP,
  containerSecurityContext,
  ingressPolicy,
  type KubernetesOptions,
  labels,
  type Manifest,
  podSecurityContext,
} from './kubernetes-objects.ts';

export type { KubernetesOptions, Manifest };

import { type Member, slug } from './members.ts';

const API = 7101;
const P2P = 7201;

/** A DNS-1123 name from a municipality's name: lower case, æøå spelled out, at most 40 characters. */
export function nodeName(member: Pick<Member, 'name'>): string {
  return `node-${slug(member.name).slice(0, 40).replace(/-$/, '')}`;
}

/** The DNS names a node's API certificate must cover in `namespace`. */
export function tlsNames(name: string, namespace: string): string[] {
  return [
    name,
    `${name}.${namespace}.svc`,
    `${name}.${namespace}.svc.cluster.local`,
    `${name}-0.${name}.${namespace}.svc.cluster.local`,
  ];
}

export const quorum = (authorities: number): number => Math.floor((2 * authorities) / 3) + 1;

function genesisOf(
  members: readonly Member[],
  address: (m: Member) => string,
  o: KubernetesOptions,
): Genesis {
  if (o.genesis) {
    const keys = new Set(o.genesis.authorities.map((a) => a.publicKey));
    for (const m of members)
      if ((m.role ?? 'authority') === 'authority' && !keys.has(m.publicKey))
        throw new Error(`${m.name}'s public key is not an authority in the given genesis`);
    return o.genesis;
  }
  return decodeGenesis({
    chainId: o.chainId,
    genesisTime: o.genesisTime ?? Date.now(),
    authorities: members
      .filter((m) => (m.role ?? 'authority') === 'authority')
      .map((m) => ({ name: m.name, cvr: m.cvr, publicKey: m.publicKey, address: address(m) })),
    params: DEFAULT_PARAMS,
  });
}

/** The objects for one node: ConfigMap, headless Service, StatefulSet. */
async function nodeObjects(
  m: Member,
  members: readonly Member[],
  genesis: Genesis,
  address: (m: Member) => string,
  o: KubernetesOptions,
): Promise<Manifest[]> {
  const name = nodeName(m);
  const role = m.role ?? 'authority';
  const authorities = members.filter((x) => (x.role ?? 'authority') === 'authority' && x !== m);
  const config = {
    name: m.name,
    genesisFile: '/etc/tillid/genesis.json',
    keyFile: '/etc/tillid-key/key.json',
    dataDir: '/var/lib/tillid/data',
    // HTTPS only: the API carries what municipalities act on, so it is never plain HTTP across the
    // cluster. The certificate is the operator's (Secret `<node>-tls`, see KUBERNETES.md).
    api: {
      host: '0.0.0.0',
      port: API,
      tls: { cert: '/etc/tillid-tls/tls.crt', key: '/etc/tillid-tls/tls.key' },
    },
    blockIntervalMs: o.blockIntervalMs,
    logLevel: 'info',
    p2p: {
      listen: [`/ip4/0.0.0.0/tcp/${P2P}`],
      peers: await Promise.all(
        authorities.map(async (a) => `${address(a)}/p2p/${await peerIdForPublicKey(a.publicKey)}`),
      ),
      observers:
        role === 'authority' ? members.filter((x) => x.role === 'observer').map((x) => x.publicKey) : [],
    },
  };
  const meta = (kind: string) => ({
    name: kind ? `${name}-${kind}` : name,
    namespace: o.namespace,
    labels: labels(role, name),
  });
  const podLabels = { ...labels(role, name), 'tillid.dk/member': 'true' };
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta('config'),
      data: {
        'config.json': `${JSON.stringify(config, null, 2)}\n`,
        'genesis.json': `${JSON.stringify(genesis, null, 2)}\n`,
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(''),
      spec: {
        clusterIP: 'None',
        // Peers must resolve each other before they are ready: readiness needs the quorum they form.
        publishNotReadyAddresses: true,
        selector: { 'app.kubernetes.io/instance': name },
        ports: [
          { name: 'api', port: API, targetPort: API },
          { name: 'p2p', port: P2P, targetPort: P2P },
        ],
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta(''),
      spec: {
        serviceName: name,
        replicas: 1,
        selector: { matchLabels: { 'app.kubernetes.io/instance': name } },
        // One pod at a time, never two with one key: OrderedReady, and an upgrade replaces the pod.
        podManagementPolicy: 'OrderedReady',
        updateStrategy: { type: 'RollingUpdate' },
        template: {
          metadata: {
            labels: podLabels,
            annotations: {
              'prometheus.io/scrape': 'true',
              'prometheus.io/scheme': 'https',
              'prometheus.io/port': String(API),
              'prometheus.io/path': '/metrics',
              // The names the certificate in `<name>-tls` must cover: what the gateway and peers dial.
              'tillid.dk/tls-names': tlsNames(name, o.namespace).join(','),
            },
          },
          spec: {
            terminationGracePeriodSeconds: 20,
            securityContext: podSecurityContext(),
            // --new-network: the key has never signed, so a fresh volume gets its empty signed-vote
            // log before the first start; a used volume is left alone (its own log decides).
            ...(o.newNetwork
              ? {
                  initContainers: [
                    {
                      name: 'provision-vote-log',
                      image: o.image,
                      args: ['keys', 'provision-log', '--data-dir', '/var/lib/tillid/data', '--unless-used'],
                      securityContext: containerSecurityContext(),
                      volumeMounts: [{ name: 'data', mountPath: '/var/lib/tillid' }],
                    },
                  ],
                }
              : {}),
            containers: [
              {
                name: 'node',
                image: o.image,
                args: ['node', 'start', '--config', '/etc/tillid/config.json'],
                ports: [
                  { name: 'api', containerPort: API },
                  { name: 'p2p', containerPort: P2P },
                ],
                env: [{ name: 'TILLID_API_HOST', value: '0.0.0.0' }],
                resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } },
                livenessProbe: {
                  httpGet: { path: '/healthz', port: 'api', scheme: 'HTTPS' },
                  periodSeconds: 10,
                  timeoutSeconds: 3,
                  failureThreshold: 6,
                },
                readinessProbe: {
                  httpGet: { path: '/readyz', port: 'api', scheme: 'HTTPS' },
                  periodSeconds: 5,
                  timeoutSeconds: 3,
                },
                startupProbe: {
                  httpGet: { path: '/healthz', port: 'api', scheme: 'HTTPS' },
                  periodSeconds: 5,
                  failureThreshold: 60,
                },
                securityContext: containerSecurityContext(),
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/tillid', readOnly: true },
                  { name: 'key', mountPath: '/etc/tillid-key', readOnly: true },
                  // The key file is encrypted; its passphrase is a second Secret, at the path the
                  // node looks in by default (node/custody/passphrase.ts).
                  {
                    name: 'key-passphrase',
                    mountPath: '/run/secrets/tillid-key-passphrase',
                    subPath: 'passphrase',
                    readOnly: true,
                  },
                  { name: 'tls', mountPath: '/etc/tillid-tls', readOnly: true },
                  { name: 'data', mountPath: '/var/lib/tillid' },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: `${name}-config` } },
              // A kubernetes.io/tls Secret (tls.crt, tls.key), e.g. from cert-manager or the
              // municipality's PKI; the generator never makes one, as it never makes a key.
              { name: 'tls', secret: { secretName: `${name}-tls`, defaultMode: 0o440 } },
              // Owned by root, group fsGroup (1000): 0440 lets the node (uid 1000, gid 1000) read it.
              { name: 'key', secret: { secretName: `${name}-key`, defaultMode: 0o440 } },
              {
                name: 'key-passphrase',
                secret: { secretName: `${name}-key-passphrase`, defaultMode: 0o440 },
              },
              { name: 'tmp', emptyDir: {} },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: o.storage } } },
          },
        ],
      },
    },
  ];
}

const defaultDeny = (o: KubernetesOptions): Manifest => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'default-deny-ingress', namespace: o.namespace, labels: labels('policy') },
  spec: { podSelector: {}, policyTypes: ['Ingress'] },
});

/** Who may call the node API: the gateway and a monitoring namespace's Prometheus. */
const apiPeers = [
  { podSelector: { matchLabels: { 'app.kubernetes.io/component': 'gateway' } } },
  { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
];

/** A central operator's cluster: every member's node, the PDB, the policies and the gateway. */
export async function kubernetesNetwork(
  members: readonly Member[],
  o: KubernetesOptions,
): Promise<{ manifests: Manifest[]; genesisHash: string }> {
  const address = (m: Member) =>
    `/dns4/${nodeName(m)}-0.${nodeName(m)}.${o.namespace}.svc.cluster.local/tcp/${P2P}`;
  const genesis = genesisOf(members, address, o);
  const authorities = genesis.authorities.length;
  const manifests: Manifest[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: o.namespace, labels: labels('namespace') } },
  ];
  for (const m of members) manifests.push(...(await nodeObjects(m, members, genesis, address, o)));
  manifests.push(
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'authorities-quorum', namespace: o.namespace, labels: labels('authority') },
      spec: {
        minAvailable: quorum(authorities),
        selector: {
          matchLabels: { 'app.kubernetes.io/name': APP, 'app.kubernetes.io/component': 'authority' },
        },
      },
    },
    defaultDeny(o),
    ingressPolicy(o, 'nodes', { 'tillid.dk/member': 'true' }, [
      {
        from: [{ podSelector: { matchLabels: { 'tillid.dk/member': 'true' } } }],
        ports: [{ protocol: 'TCP', port: P2P }],
      },
      { from: apiPeers, ports: [{ protocol: 'TCP', port: API }] },
    ]),
    ...gatewayObjects(members, o),
  );
  return { manifests, genesisHash: genesisHash(genesis) };
}

/** One municipality's node in its own cluster; its peers are the other members' hosts. */
export async function kubernetesMunicipality(
  members: readonly Member[],
  own: string,
  o: KubernetesOptions,
): Promise<{ manifests: Manifest[]; genesisHash: string }> {
  const m = members.find((x) => x.name === own || x.cvr === own);
  if (!m) throw new Error(`${own} is not in members.json`);
  if (!o.genesis)
    throw new Error("a municipality's manifests need the ceremony's genesis (--genesis genesis.json)");
  const address = (x: Member) =>
    `/${/^\d+\.\d+\.\d+\.\d+$/.test(x.host) ? 'ip4' : 'dns4'}/${x.host}/tcp/${P2P}`;
  const genesis = genesisOf(members, address, o);
  const name = nodeName(m);
  const others = members.filter((x) => x !== m);
  const ipPeers = others.filter((x) => /^\d+\.\d+\.\d+\.\d+$/.test(x.host));
  const manifests: Manifest[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: o.namespace, labels: labels('namespace') } },
    ...(await nodeObjects(m, members, genesis, address, o)),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `${name}-p2p`, namespace: o.namespace, labels: labels(m.role ?? 'authority', name) },
      spec: {
        type: 'LoadBalancer',
        selector: { 'app.kubernetes.io/instance': name },
        ports: [{ name: 'p2p', port: P2P, targetPort: P2P }],
        // Only the other members' addresses, when they are IPs; the gater refuses unknown keys anyway.
        ...(ipPeers.length === others.length && others.length > 0
          ? { loadBalancerSourceRanges: ipPeers.map((x) => `${x.host}/32`) }
          : {}),
      },
    },
    defaultDeny(o),
    ingressPolicy(o, 'node', { 'app.kubernetes.io/instance': name }, [
      {
        // With DNS names (not expressible here) p2p stays open; the allow-list by key still holds.
        ...(ipPeers.length === others.length && others.length > 0
          ? { from: ipPeers.map((x) => ({ ipBlock: { cidr: `${x.host}/32` } })) }
          : {}),
        ports: [{ protocol: 'TCP', port: P2P }],
      },
      { from: apiPeers, ports: [{ protocol: 'TCP', port: API }] },
    ]),
  ];
  return { manifests, genesisHash: genesisHash(genesis) };
}

/** Multi-document YAML (each document JSON). */
export const toYaml = (manifests: readonly Manifest[]): string =>
  `${manifests.map((x) => JSON.stringify(x, null, 2)).join('\n---\n')}\n`;
