#!/usr/bin/env node
/**
 * The `tillid` command line. Run it as `npm run tillid -- <command>` (Node 24 from the project).
 */
import { readFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import tls from 'node:tls';
import { describeTlsError } from '../api/tls-errors.ts';
import { parse, required, UsageError } from './args.ts';
import { usageOf } from './usage.ts';

async function nodeStart(args: string[]): Promise<void> {
  const { config: file } = parse(args, { config: { type: 'string' } });
  const [{ loadConfig }, { createLogger }, { TillidNode }] = await Promise.all([
    import('../config.ts'),
    import('../log.ts'),
    import('../node.ts'),
  ]);
  const config = loadConfig(required(file, 'config'));
  const log = createLogger(config.logLevel, { node: config.name });
  log.info({ config }, 'configuration');
  const node = await TillidNode.start(config, log);
  // Every module the node needs is loaded now: write the compile cache (node/cli/node-flags.ts)
  // at once, not at exit, so that a node that is killed rather than stopped still leaves it.
  nodeModule.flushCompileCache?.();
  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    node.stop().then(
      () => process.exit(0),
      (e) => {
        log.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

type Command = (args: string[]) => void | Promise<void>;

/** Loads a command's module only when it runs: a client command need not load libp2p or LevelDB. */
const lazy =
  <M extends Record<K, Command>, K extends keyof M>(load: () => Promise<M>, name: K): Command =>
  async (args) =>
    (await load())[name](args);
const contract = () => import('./contract.ts');
const party = () => import('./party.ts');
const authority = () => import('./authority.ts');
const network = () => import('./network.ts');
const keys = () => import('./keys.ts');

const commands: Record<string, Command> = {
  'keys generate': lazy(keys, 'keysGenerate'),
  'keys encrypt': lazy(keys, 'keysEncrypt'),
  'keys provision-log': lazy(keys, 'keysProvisionLog'),
  'keys hsm-generate': lazy(keys, 'keysHsmGenerate'),
  'keys hsm-import': lazy(keys, 'keysHsmImport'),
  'network init': lazy(network, 'networkInit'),
  'network up': lazy(network, 'networkUp'),
  'network join': lazy(() => import('./join.ts'), 'networkJoin'),
  'node start': nodeStart,
  'node backup': lazy(() => import('./backup.ts'), 'nodeBackup'),
  'node restore': lazy(() => import('./backup.ts'), 'nodeRestore'),
  'genesis hash': lazy(() => import('./genesis.ts'), 'genesisHashCommand'),
  'tx send': lazy(() => import('./tx.ts'), 'txSend'),
  'chain verify': lazy(() => import('./verify.ts'), 'chainVerify'),
  'proof verify': lazy(() => import('./proof.ts'), 'proofVerify'),
  'authority propose': lazy(authority, 'authorityPropose'),
  'authority vote': lazy(authority, 'authorityVote'),
  'authority rotate': lazy(authority, 'authorityRotate'),
  'party register': lazy(party, 'partyRegister'),
  'party add-key': lazy(party, 'partyAddKey'),
  'party revoke-key': lazy(party, 'partyRevokeKey'),
  'contract template': lazy(contract, 'contractTemplate'),
  'contract create': lazy(contract, 'contractCreate'),
  'contract propose': lazy(contract, 'contractPropose'),
  'contract cosign': lazy(contract, 'contractCosign'),
  'contract approve': lazy(contract, 'contractApprove'),
  'contract report': lazy(contract, 'contractReport'),
  'contract show': lazy(contract, 'contractShow'),
  'contract list': lazy(contract, 'contractList'),
};

const isHelpFlag = (arg: string | undefined) => arg === '--help' || arg === '-h';
const isHelp = (arg: string | undefined) => isHelpFlag(arg) || arg === 'help';

async function main(argv: string[]): Promise<void> {
  const [group, verb, ...rest] = argv;
  if (group === undefined || isHelp(group)) {
    console.log(usageOf(undefined));
    return;
  }
  if (group === '--version' || group === 'version') {
    // What an operator compares before an upgrade: a different protocol means a coordinated one.
    const { SOFTWARE_VERSION, PROTOCOL_VERSION } = await import('../protocol/version.ts');
    console.log(`tillid ${SOFTWARE_VERSION} protocol ${PROTOCOL_VERSION}`);
    return;
  }
  // `tillid contract --help`, `tillid contract create --help`: the group's usage, on stdout.
  if (isHelp(verb) || rest.some(isHelpFlag)) {
    console.log(usageOf(group));
    return;
  }
  const command = commands[`${group} ${verb}`];
  if (!command) {
    console.error(`tillid: unknown command: ${[group, verb].filter(Boolean).join(' ')}`);
    console.error(usageOf(group));
    process.exitCode = 2;
    return;
  }
  await command(trustCa(rest));
}

/**
 * `--ca <file>`, accepted by every command: a node API served over HTTPS with a certificate from a
 * consortium's or municipality's own CA (not a public one) is trusted by adding that CA to this
 * process's defaults — a one-shot CLI process talks to nothing else. Returns the other arguments.
 */
let caGiven = false;
function trustCa(args: string[]): string[] {
  const at = args.findIndex((a) => a === '--ca' || a.startsWith('--ca='));
  if (at < 0) return args;
  const file = args[at]?.startsWith('--ca=') ? args[at]?.slice(5) : args[at + 1];
  if (!file || file.startsWith('--')) throw new UsageError('--ca needs a PEM file (the CA of the node API)');
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--ca ${file}: ${(e as Error).message}`);
  }
  // One entry per certificate: a bundle of several CAs (a member's and a joiner's own) is common,
  // and OpenSSL refuses two concatenated PEM blocks without a newline between them.
  const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  if (!certs) throw new UsageError(`--ca ${file}: no PEM certificate in it`);
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), ...certs.map((c) => `${c}\n`)]);
  caGiven = true;
  const rest = [...args];
  rest.splice(at, args[at]?.startsWith('--ca=') ? 1 : 2);
  return trustCa(rest);
}

const [group] = process.argv.slice(2);
main(process.argv.slice(2)).catch((thrown: Error) => {
  const e = describeTlsError(thrown, '--ca <file>', caGiven);
  // Node and chain refusals arrive as `CODE: message` (client/http.ts), so scripts can match the code.
  console.error(`tillid: ${e.message}`);
  if (e instanceof UsageError) console.error(usageOf(group));
  process.exitCode = e instanceof UsageError ? 2 : 1;
});
