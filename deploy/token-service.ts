/**
 * The token-service EMULATOR as a container process for docker-compose (never a security
 * component): HTTPS on 8443 with the certificate deploy/gateway-init.ts issued for
 * `token-service`, trusting that test CA for client certificates, with the grants it wrote.
 *
 *   node deploy/token-service.ts [--dir /var/lib/tillid] [--port 8443]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { TokenPrivilege } from '../gateway/auth/token.ts';
import { TokenServiceEmulator } from '../gateway/emulators/token-service.ts';
import { TOKEN_ISSUER } from './gateway-init.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/var/lib/tillid' },
    port: { type: 'string', default: '8443' },
  },
});
const dir = values.dir;
const read = (name: string) => readFileSync(join(dir, name), 'utf8');
const service = await TokenServiceEmulator.start({
  cert: read('pki/token-service.pem'),
  key: read('pki/token-service.key'),
  clientCa: [read('pki/ca.pem')],
  host: '0.0.0.0',
  port: Number(values.port),
  issuer: TOKEN_ISSUER,
  tokenTtlSeconds: 3600,
});
const grants = JSON.parse(read('token-grants.json')) as {
  system: string;
  cvr: string;
  privileges: TokenPrivilege[];
}[];
for (const g of grants) service.grant(g.system, g.cvr, g.privileges);
console.log(
  JSON.stringify({ msg: 'token-service emulator started', port: Number(values.port), grants: grants.length }),
);
const stop = () => void service.stop().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
