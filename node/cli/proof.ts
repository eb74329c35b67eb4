/**
 * `tillid proof verify`: checks one proven read saved from a node (`?proof=true`) offline, trusting
 * only the genesis: the certified headers and authority changes in the file, then the state proofs,
 * then that the value is what the proven state says. Exit code 0 only when all of it holds.
 */
import { readFileSync } from 'node:fs';
import { readGenesis } from '../node.ts';
import { verifyProvenRead } from '../state/commitment/proven-read.ts';
import { parse, required } from './args.ts';

export async function proofVerify(args: string[]): Promise<void> {
  const v = parse(args, { genesis: { type: 'string' }, file: { type: 'string' } });
  const genesis = readGenesis(required(v.genesis, 'genesis'));
  const file = required(v.file, 'file');
  let input: unknown;
  try {
    input = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  const verdict = verifyProvenRead(genesis, input);
  if (verdict.ok) {
    const what = verdict.value === null ? 'proven absent' : 'value proven';
    console.log(
      `OK: ${verdict.read.kind} read, ${what} at height ${verdict.height} (block ${verdict.blockHash})`,
    );
  } else {
    console.log(`FAILED: ${verdict.reason}`);
    process.exitCode = 1;
  }
}
