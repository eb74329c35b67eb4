/** `tillid keys generate`: a new Ed25519 key, written readable by its owner only. */
import { writeKeyFile } from '../keyfile.ts';
import { generateKeyPair } from '../protocol/signature.ts';
import { parse, required } from './args.ts';

export function keysGenerate(args: string[]): void {
  const { out } = parse(args, { out: { type: 'string' } });
  const path = required(out, 'out');
  const keyPair = generateKeyPair();
  writeKeyFile(path, keyPair);
  console.log(JSON.stringify({ publicKey: keyPair.publicKey, keyFile: path }));
}
