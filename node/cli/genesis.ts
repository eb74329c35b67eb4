/**
 * `tillid genesis hash --genesis <file>`: the hash every member compares over a second channel in
 * the key ceremony (deploy/CEREMONY.md, step 4). The hash alone goes to stdout (for scripts); the
 * chain id and each authority's name, CVR and public key go to stderr, to be checked by eye.
 */
import { readGenesis } from '../node.ts';
import { genesisHash } from '../protocol/genesis.ts';
import { parse, required } from './args.ts';

export function genesisHashCommand(args: string[]): void {
  const v = parse(args, { genesis: { type: 'string' } });
  const genesis = readGenesis(required(v.genesis, 'genesis'));
  console.error(`chain ${genesis.chainId}, ${genesis.authorities.length} authorities:`);
  for (const a of genesis.authorities) console.error(`  ${a.name} (CVR ${a.cvr})  ${a.publicKey}`);
  console.log(genesisHash(genesis));
}
