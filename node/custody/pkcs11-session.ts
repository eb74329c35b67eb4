/**
 * A PKCS#11 token's sessions, shared by every key kind Tillid keeps in an HSM (authority keys in
 * pkcs11.ts, the gateway's submitter keys and pseudonym secrets in gateway/keystore-hsm.ts): one
 * loaded library per path and process, a logged-in read-write session per user, and clear errors
 * for a missing module, token or wrong PIN.
 */
import pkcs11js from 'pkcs11js';
import { readPassphrase } from './passphrase.ts';

export const SOFTHSM2_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

/** A token: the library that drives it, its label and the file holding its user PIN. */
export interface TokenConfig {
  /** Path of the PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  readonly module: string;
  /** The token's label (CKA_LABEL of the token, as `softhsm2-util --show-slots` lists it). */
  readonly token: string;
  /** File holding the user PIN (never argv or the environment: see passphrase.ts). */
  readonly pinFile: string;
}

export class HsmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HsmError';
  }
}

export type Session = Buffer;
export interface Module {
  readonly lib: pkcs11js.PKCS11;
  sessions: number;
}
/** One loaded library per path and process: C_Initialize may run only once. */
const modules = new Map<string, Module>();

export const codeOf = (e: unknown) => (e as { message?: string }).message?.split(':')[0] ?? String(e);

function loadModule(path: string): Module {
  const known = modules.get(path);
  if (known) return known;
  const lib = new pkcs11js.PKCS11();
  try {
    lib.load(path);
  } catch (e) {
    throw new HsmError(
      `cannot load the PKCS#11 module ${path} (${(e as Error).message}); for SoftHSM2 on Debian: ` +
        `apt-get install softhsm2 (module ${SOFTHSM2_MODULE})`,
    );
  }
  try {
    lib.C_Initialize();
  } catch (e) {
    if (codeOf(e) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED')
      throw new HsmError(`${path}: C_Initialize: ${codeOf(e)}`);
  }
  const module = { lib, sessions: 0 };
  modules.set(path, module);
  return module;
}

function release(path: string, module: Module): void {
  module.sessions -= 1;
  if (module.sessions > 0) return;
  modules.delete(path);
  try {
    module.lib.C_Finalize();
  } finally {
    module.lib.close();
  }
}

/** A logged-in read-write session on the token labelled `config.token`. */
export function openSession(config: TokenConfig): { module: Module; session: Session } {
  const pin = readPassphrase(config.pinFile);
  const module = loadModule(config.module);
  const { lib } = module;
  // Counted from here, so that every failure below can hand the library back the same way.
  module.sessions += 1;
  let session: Session;
  try {
    const labels: string[] = [];
    const slot = lib.C_GetSlotList(true).find((s) => {
      const label = lib.C_GetTokenInfo(s).label.trim();
      labels.push(label);
      return label === config.token;
    });
    if (!slot)
      throw new HsmError(
        `no token labelled "${config.token}" in ${config.module} (tokens: ${labels.map((l) => `"${l}"`).join(', ') || 'none'})`,
      );
    session = lib.C_OpenSession(slot, pkcs11js.CKF_RW_SESSION | pkcs11js.CKF_SERIAL_SESSION);
  } catch (e) {
    release(config.module, module);
    throw e instanceof HsmError ? e : new HsmError(`${config.module}: ${codeOf(e)}`);
  }
  try {
    lib.C_Login(session, pkcs11js.CKU_USER, pin);
  } catch (e) {
    const code = codeOf(e);
    if (code !== 'CKR_USER_ALREADY_LOGGED_IN') {
      closeSession(config, module, session);
      if (code === 'CKR_PIN_INCORRECT')
        throw new HsmError(`wrong PIN for token "${config.token}" (from ${config.pinFile})`);
      if (code === 'CKR_PIN_LOCKED') throw new HsmError(`token "${config.token}": the PIN is locked`);
      throw new HsmError(`token "${config.token}": login failed: ${code}`);
    }
  }
  return { module, session };
}

export function closeSession(config: TokenConfig, module: Module, session: Session): void {
  try {
    module.lib.C_CloseSession(session);
  } finally {
    release(config.module, module);
  }
}

export function find(lib: pkcs11js.PKCS11, session: Session, template: pkcs11js.Template): Buffer[] {
  lib.C_FindObjectsInit(session, template);
  try {
    return lib.C_FindObjects(session, 16);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
}

export function withSession<T>(config: TokenConfig, act: (lib: pkcs11js.PKCS11, session: Session) => T): T {
  const { module, session } = openSession(config);
  try {
    return act(module.lib, session);
  } catch (e) {
    throw e instanceof HsmError ? e : new HsmError(`token "${config.token}": ${codeOf(e)}`);
  } finally {
    closeSession(config, module, session);
  }
}
