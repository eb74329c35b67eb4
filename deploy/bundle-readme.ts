/** The README of one municipality's bundle: from an empty host to a joined, finalizing node. */
import { apiPortOf, GATEWAY_PORT, ownNodeUrl, P2P_PORT } from './bundle-compose.ts';
import type { Member } from './members.ts';

export interface BundleReadme {
  readonly member: Member;
  readonly slug: string;
  readonly genesisHash: string;
  readonly chainId: string;
  readonly tls: boolean;
  readonly authorities: number;
  readonly image: string;
}

export function bundleReadme(b: BundleReadme): string {
  const { member: m, slug } = b;
  const p2p = m.p2pPort ?? P2P_PORT;
  const api = ownNodeUrl(m, b.tls).replace('http://node', 'http://127.0.0.1');
  const curl = b.tls ? `curl -s --cacert node/tls/ca.pem ${api}` : `curl -s ${api}`;
  const quorum = Math.floor((2 * b.authorities) / 3) + 1;
  const ca = b.tls ? ` --ca /etc/tillid/tls/ca.pem` : '';
  return `# ${m.name} — Tillid bundle

CVR ${m.cvr}, role **${m.role ?? 'authority'}**, chain \`${b.chainId}\`, on its own host **${m.host}**.
Genesis hash: \`${b.genesisHash}\`

| file | what |
|---|---|
| \`docker-compose.yml\` | the node${m.gateway ? ' and the gateway' : ''} (project \`tillid-${slug}\`, containers \`tillid-${slug}-*\`), monitoring profiles |
| \`node/config.json\`, \`node/genesis.json\` | the node's configuration and the agreed genesis, mounted read-only at \`/etc/tillid\` |
${b.tls ? "| `node/tls/` | the node API's certificate, key and CA — **THROWAWAY** until replaced (step 3) |\n" : ''}${m.gateway ? "| `gateway/` | `gateway.json` for this municipality's token service, certificates and agreements; `tls/`, `pki/`, `genesis.json` |\n" : ''}| \`monitoring/\` | Prometheus config and alert rules (\`docker compose --profile monitoring up -d\`) |

Nothing in this directory is secret except the throwaway TLS keys; the authority key never
leaves this host's \`tillid-node\` volume.

## 1. The host

- Docker Engine with compose (\`docker compose\` below; \`docker-compose\` 1.29+ works the same), and the image \`${b.image}\`
  (\`docker load -i <image tarball>\` on a host without registry access; \`docker image ls\` shows it).
- Firewall: TCP **${p2p}** (p2p) and **${apiPortOf(m)}** (node API${b.tls ? ', HTTPS' : ''}) open to the other members'
  addresses only${m.gateway ? `; TCP **${GATEWAY_PORT}** (gateway, HTTPS) to this municipality's case systems` : ''}.
  The other members reach this node at \`${m.host}\`: its DNS name (or IP) must point here.
- Every node uses the same ports on its own host; nothing here depends on the directory name.

## 2. The authority key (key ceremony, deploy/CEREMONY.md step 1)

The key file is encrypted under a passphrase kept in \`secrets/tillid-key-passphrase\` beside this
README (a Docker secret: the node reads it at \`/run/secrets/tillid-key-passphrase\`; never argv or
the environment). If the key was made in the ceremony, put that passphrase file there. If the key
was not made on this host yet (deploy/CEREMONY.md is the reference if it differs):

\`\`\`sh
mkdir -p secrets && (umask 077; head -c 24 /dev/urandom | base64 > secrets/tillid-key-passphrase)
sudo chown 1000:1000 secrets/tillid-key-passphrase
docker volume create tillid-node
docker run --rm -v tillid-node:/var/lib/tillid \\
  -v "$PWD/secrets/tillid-key-passphrase:/run/secrets/tillid-key-passphrase:ro" \\
  ${b.image} keys generate --out /var/lib/tillid/key.json --data-dir /var/lib/tillid/data
\`\`\`

Back up the encrypted key and, separately, its passphrase now (deploy/OPERATIONS.md, "Keys").

The public key it prints must be this member's in the genesis: \`${m.publicKey}\`.

Check the genesis hash and compare it with every other member over a second channel:

\`\`\`sh
docker run --rm -v "$PWD/node:/in:ro" ${b.image} genesis hash --genesis /in/genesis.json
# must print ${b.genesisHash}
\`\`\`

${
  b.tls
    ? `## 3. TLS for the node API

The API serves HTTPS only (\`api.tls\` in \`node/config.json\`). \`node/tls/\` holds **throwaway**
material from a development CA made when the bundles were generated (its key was discarded): it
lets a test consortium run with TLS on from the first start. For production replace, keeping the
file names:

- \`node/tls/node.pem\` — a server certificate (with its chain) from the municipality's own PKI,
  naming \`${m.host}\` in its subjectAltName; \`node/tls/node.key\` — its private key;
- \`node/tls/ca.pem\` — the CA(s) that issue the members' node certificates (the consortium's CA,
  or every member's issuing CA concatenated): this node's health check and its operators' CLI trust it;${
    m.gateway
      ? `
- \`gateway/tls/node-ca.pem\` — the same CA bundle, for the gateway (\`nodeCaFile\`): it refuses
  a node certificate from any other CA; \`gateway/tls/gateway.pem\`/\`.key\` — the gateway's own
  server certificate for its callers;`
      : ''
  }

The containers run as uid 1000; give them the key files (mode 600 stays):

\`\`\`sh
sudo chown -R 1000:1000 node/tls${m.gateway ? ' gateway/tls' : ''}
\`\`\`

`
    : `## 3. No TLS in this bundle

It was generated with \`--no-tls\`: the API is plain HTTP and published on 127.0.0.1 only, so other
members' gateways cannot use this node. Generate with TLS (the default) for anything else.

`
}## 4. Start the node and see it finalize

\`\`\`sh
docker compose up -d node
${curl}/v1/status
\`\`\`

\`genesisHash\` must be \`${b.genesisHash}\`. Blocks are produced and finalized (\`height\`,
\`finalizedHeight\` rising) once ${quorum} of the ${b.authorities} authorities are up and reach each other; until then
the log (\`docker compose logs -f node\`) shows the peers it dials; \`peers\` in \`/v1/status\` lists
those it is connected to. Verify the whole chain from this host at any time:

\`\`\`sh
docker compose run --rm --no-deps node chain verify --genesis /etc/tillid/genesis.json --api ${ownNodeUrl(m, b.tls)}${ca}
\`\`\`

A member that joins later is voted in by the authorities (deploy/CEREMONY.md, "Later changes").
${m.gateway ? gatewaySteps(b, ca) : ''}
## Operations

Monitoring: \`docker compose --profile monitoring up -d\` (Prometheus on 127.0.0.1:9090 with the
alert rules); backups, restore and upgrades: deploy/OPERATIONS.md and deploy/UPGRADES.md.
`;
}

function gatewaySteps(b: BundleReadme, ca: string): string {
  const { member: m } = b;
  const g = m.gateway ?? {};
  return `
## 5. The gateway

\`gateway/gateway.json\` is configured for this municipality's infrastructure:
${g.token ? `tokens from \`${g.token.issuer}\` (keys from \`${g.token.jwksUrl}\`, audience \`${g.token.audience}\`)` : 'no token service (certificates only)'};
${(g.clientCaFiles ?? []).length > 0 ? `organisation and system certificates from the CA(s) in \`gateway/pki/\`` : 'no client certificates'};
${(g.agreements ?? []).length} service agreement(s). It sends to its own node first and to the other members' nodes
when that one is down, trusting only \`gateway/tls/node-ca.pem\` for them.

\`\`\`sh
# a. The key store passphrase, made here and kept here (a Docker secret; never in argv or the config):
mkdir -p secrets && (umask 077; openssl rand -base64 32 > secrets/keystore-passphrase)
sudo chown 1000:1000 secrets/keystore-passphrase
# b. The gateway's submitter key for CVR ${m.cvr}, encrypted in the tillid-${b.slug}-gateway volume:
docker compose run --rm --no-deps gateway keys create --dir /var/lib/tillid/keys --cvr ${m.cvr}
#    → {"cvr":"${m.cvr}","publicKey":"<submitter key>"}
# c. Register the municipality on chain with that key, signed by this node's authority key:
docker compose run --rm --no-deps node party register --key /var/lib/tillid/key.json --cvr ${m.cvr} \\
  --kind municipality --grant '<submitter key>:caseworker,centre-chief,director:admin' \\
  --api ${ownNodeUrl(m, b.tls)}${ca} --wait
# d. Start it and check it reaches the chain:
docker compose up -d gateway
docker compose logs gateway | grep 'gateway started'
\`\`\`

A case system then calls \`https://${g.host ?? m.host}:${GATEWAY_PORT}/v1/…\` with a token from the token
service or its OCES certificate (gateway/README.md). The gateway's own certificate in
\`gateway/tls/\` is throwaway like the node's: replace it with one from the municipality's PKI.
`;
}
