/** Reading a genesis file: the one document every node of a chain starts from. */
import { readFileSync } from 'node:fs';
import { decodeGenesis, type Genesis } from './protocol/genesis.ts';

export function readGenesis(file: string): Genesis {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read genesis ${file}: ${(e as Error).message}`);
  }
  return decodeGenesis(raw);
}
