/**
 * What a node's parts are built on, opened before assembly (node.ts): the genesis, this node's key,
 * the chain store and — in a consortium — the p2p host, which authenticates peers against the
 * chain's authorities and so needs the chain open first. If the host fails to open, the chain is
 * closed again, so a failed start leaves no store locked.
 */
import { Chain } from './chain/chain.ts';
import type { NodeConfig } from './config.ts';
import { isEncryptedKeyFile } from './custody/key-file.ts';
import { exitOnSignerFailure, failStop, openSigner } from './custody/open-signer.ts';
import { readGenesis } from './genesis-file.ts';
import type { Logger } from './log.ts';
import type { RunningHost } from './p2p/host.ts';
import { openNodeHost } from './p2p/node-host.ts';
import type { MessageSigner } from './protocol/signature.ts';
import { CheckedPayloads, VerifiedSignatures } from './protocol/verdicts.ts';
import { applicationModules } from './state/application.ts';
import type { Rules } from './state/machine.ts';

/** What exists before assembly: the configuration, the opened chain and (consortium) the p2p host. */
export interface Opened {
  readonly config: NodeConfig;
  readonly log: Logger;
  readonly chain: Chain;
  readonly signer: MessageSigner;
  /** Signature verdicts shared by admission and block validation, so each is checked once. */
  readonly verified: VerifiedSignatures;
  readonly running: RunningHost | undefined;
}

export async function openNode(config: NodeConfig, log: Logger): Promise<Opened> {
  const genesis = readGenesis(config.genesisFile);
  const opened = await openSigner(config);
  const signer = config.hsm
    ? failStop(opened, (e) => {
        log.fatal({ err: e.message }, 'the HSM failed to sign: stopping the node');
        exitOnSignerFailure(e);
      })
    : opened;
  const verified = new VerifiedSignatures();
  // The chain's rules are admission's too (mempool/intake.ts), so both share these memos: a
  // transaction's signature is verified, and its payload scanned, once per node.
  const verdicts: Pick<Rules, 'signatureValid' | 'cosignatureValid' | 'checkedPayloads'> = {
    signatureValid: verified.valid,
    cosignatureValid: verified.cosignatureValid,
    checkedPayloads: new CheckedPayloads(),
  };
  let chain: Chain;
  try {
    chain = await Chain.open(config.dataDir, genesis, applicationModules(genesis), verdicts, {
      ...(config.stateRetention !== undefined ? { stateRetention: config.stateRetention } : {}),
    });
  } catch (e) {
    signer.close?.();
    throw e;
  }
  log.info(
    {
      chainId: genesis.chainId,
      genesisHash: chain.genesisHash,
      height: chain.head.height,
      publicKey: signer.publicKey,
      key: config.hsm ? `hsm:${config.hsm.token}/${config.hsm.keyLabel}` : 'file',
    },
    'chain opened',
  );
  if (config.keyFile && !isEncryptedKeyFile(config.keyFile))
    log.warn(
      { keyFile: config.keyFile },
      'the key file is PLAINTEXT: anyone who can read it can sign as this authority; encrypt it with `tillid keys encrypt`',
    );
  let running: RunningHost | undefined;
  try {
    if (config.p2p) running = await openNodeHost({ p2p: config.p2p, signer, chain, log });
  } catch (e) {
    await chain.close();
    signer.close?.();
    throw e;
  }
  return { config, log, chain, signer, verified, running };
}
