#!/usr/bin/env node
/**
 * The `tillid` command line. Run it as `npm run tillid -- <command>` (Node 24 from the project).
 */
import { loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { TillidNode } from '../node.ts';
import { parse, required, UsageError } from './args.ts';
import { authorityPropose, authorityVote } from './authority.ts';
import { keysGenerate } from './keys.ts';
import { networkInit, networkUp } from './network.ts';
import { proofVerify } from './proof.ts';
import { txSend } from './tx.ts';
import { chainVerify } from './verify.ts';

const USAGE = `usage: tillid <command>

  keys generate --out <file>             a new Ed25519 key (file mode 600)
  network init [--out <dir>] [--chain-id <id>] [--municipalities <file.json> | --municipality "Name:CVR[:publicKey]" ...]
               [--base-port 7101] [--block-interval-ms 500] [--business-days-per-block <n>]
                                         a genesis plus one node config per municipality
  network up [--dir .tillid/local]       start every node of a network directory (creating a dev network if empty)
  node start --config <file>             run one node
  tx send --key <file> (--hash <hex> | --document <file>) [--doc-type <code>] [--ref <ref>] [--api <url>] [--wait]
                                         sign and submit an anchor
  chain verify --genesis <file> (--data-dir <dir> | --api <url>) [--expect-height <h> [--expect-hash <hex>]]
                                         replay and check every block from the genesis
  proof verify --genesis <file> --file <read.json>
                                         check a read saved with ?proof=true, offline, against the genesis
  authority propose --key <file> --action add|remove --name <name> --cvr <cvr> --public-key <hex> [--address <multiaddr>] [--api <url>] [--wait]
                                         propose adding or removing an authority (an authority's key)
  authority vote --key <file> --proposal <id> [--api <url>] [--wait]
                                         vote for a membership proposal`;

async function nodeStart(args: string[]): Promise<void> {
  const { config: file } = parse(args, { config: { type: 'string' } });
  const config = loadConfig(required(file, 'config'));
  const log = createLogger(config.logLevel, { node: config.name });
  log.info({ config }, 'configuration');
  const node = await TillidNode.start(config, log);
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

const commands: Record<string, (args: string[]) => void | Promise<void>> = {
  'keys generate': keysGenerate,
  'network init': networkInit,
  'network up': networkUp,
  'node start': nodeStart,
  'tx send': txSend,
  'chain verify': chainVerify,
  'proof verify': proofVerify,
  'authority propose': authorityPropose,
  'authority vote': authorityVote,
};

async function main(argv: string[]): Promise<void> {
  const [group, verb, ...rest] = argv;
  const command = commands[`${group} ${verb}`];
  if (!command) {
    console.error(USAGE);
    process.exitCode = group === undefined || group === 'help' || group === '--help' ? 0 : 2;
    return;
  }
  await command(rest);
}

main(process.argv.slice(2)).catch((e: Error) => {
  console.error(`tillid: ${e.message}`);
  if (e instanceof UsageError) console.error(USAGE);
  process.exitCode = e instanceof UsageError ? 2 : 1;
});
