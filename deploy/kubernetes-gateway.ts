/** The gateway's Kubernetes objects for a central operator's network (see kubernetes.ts). */

import {
  containerSecurityContext,
  ingressPolicy,
  type KubernetesOptions,
  labels,
  type Manifest,
  podSecurityContext,
} from './kubernetes-objects.ts';
import type { Member } from './members.ts';

/**
 * The gateway: one replica (its event cursors and webhook subscriptions live in its volume), HTTPS
 * on 8080 for the support systems. Its gateway.json, key store and certificates are the operator's
 * (Secret `gateway-state`, copied into the volume on first start); gateway-init's throwaway
 * development PKI is for compose only.
 */
export function gatewayObjects(members: readonly Member[], o: KubernetesOptions): Manifest[] {
  const meta = { name: 'gateway', namespace: o.namespace, labels: labels('gateway', 'gateway') };
  const https = (path: string) => ({ httpGet: { path, port: 'https', scheme: 'HTTPS' } });
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta,
      spec: {
        selector: { 'app.kubernetes.io/instance': 'gateway' },
        ports: [{ name: 'https', port: 8080, targetPort: 8080 }],
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta,
      spec: {
        serviceName: 'gateway',
        replicas: 1,
        selector: { matchLabels: { 'app.kubernetes.io/instance': 'gateway' } },
        template: {
          metadata: {
            labels: labels('gateway', 'gateway'),
            annotations: { 'tillid.dk/nodes': String(members.length) },
          },
          spec: {
            securityContext: podSecurityContext(),
            initContainers: [
              {
                name: 'state',
                image: o.gatewayImage,
                command: [
                  'node',
                  '-e',
                  "const fs=require('fs');if(!fs.existsSync('/var/lib/tillid/gateway.json'))fs.cpSync('/etc/tillid-gateway','/var/lib/tillid',{recursive:true,dereference:true})",
                ],
                securityContext: containerSecurityContext(),
                volumeMounts: [
                  { name: 'state', mountPath: '/etc/tillid-gateway', readOnly: true },
                  { name: 'data', mountPath: '/var/lib/tillid' },
                ],
              },
            ],
            containers: [
              {
                name: 'gateway',
                image: o.gatewayImage,
                ports: [{ name: 'https', containerPort: 8080 }],
                env: [
                  { name: 'TILLID_GATEWAY_KEYSTORE_PASSPHRASE_FILE', value: '/var/lib/tillid/passphrase' },
                ],
                resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } },
                livenessProbe: { ...https('/healthz'), periodSeconds: 10, timeoutSeconds: 3 },
                readinessProbe: { ...https('/readyz'), periodSeconds: 5, timeoutSeconds: 3 },
                securityContext: containerSecurityContext(),
                volumeMounts: [
                  { name: 'data', mountPath: '/var/lib/tillid' },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'state', secret: { secretName: 'gateway-state', defaultMode: 0o440 } },
              { name: 'tmp', emptyDir: {} },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        ],
      },
    },
    // The support systems' API: reachable from anywhere the cluster's ingress allows.
    ingressPolicy(o, 'gateway', { 'app.kubernetes.io/component': 'gateway' }, [
      { ports: [{ protocol: 'TCP', port: 8080 }] },
    ]),
  ];
}
