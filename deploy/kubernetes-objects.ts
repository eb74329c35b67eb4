/**
 * The building blocks every generated Kubernetes object shares: options, labels, security
 * contexts and network policies. Used by kubernetes.ts (nodes) and kubernetes-gateway.ts (gateway).
 */
import type { Genesis } from '../node/protocol/genesis.ts';

export const APP = 'tillid';

export interface KubernetesOptions {
  readonly namespace: string;
  readonly chainId: string;
  readonly image: string;
  readonly gatewayImage: string;
  readonly blockIntervalMs: number;
  readonly storage: string;
  readonly genesisTime?: number;
  /**
   * The ceremony's genesis (deploy/generate.ts --bundles wrote it). Required for `municipality`:
   * every member must start from the same bytes; `network` makes one when it is not given.
   */
  readonly genesis?: Genesis;
  /**
   * A new network whose keys have never signed: each node's empty volume gets an empty signed-vote
   * log before the node's first start (an init container). Without it a node on a fresh volume takes
   * its log as lost and waits for the others, so a whole new network would never start. Re-apply
   * without it once the network has finalized: a volume lost later must not get a made-up log.
   */
  readonly newNetwork?: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: manifests are plain JSON, checked against the API schemas in tests
export type Manifest = Record<string, any>;

/** The pod security context every workload runs under: uid and gid 1000, never root. */
export const podSecurityContext = (): Manifest => ({
  runAsUser: 1000,
  runAsGroup: 1000,
  fsGroup: 1000,
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
});

/** Every container's security context: no privilege escalation, read-only root, no capabilities. */
export const containerSecurityContext = (): Manifest => ({
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
});

export const labels = (component: string, name?: string) => ({
  'app.kubernetes.io/name': APP,
  'app.kubernetes.io/component': component,
  ...(name ? { 'app.kubernetes.io/instance': name } : {}),
});

/** A NetworkPolicy letting `ingress` reach the pods `matchLabels` selects (and nothing else, with defaultDeny). */
export const ingressPolicy = (
  o: KubernetesOptions,
  name: string,
  matchLabels: Record<string, string>,
  ingress: Manifest[],
): Manifest => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: o.namespace, labels: labels('policy') },
  spec: { podSelector: { matchLabels }, policyTypes: ['Ingress'], ingress },
});
