/**
 * Why an HTTPS call to a node failed, in words an operator can act on. `fetch` reports every TLS
 * failure as "fetch failed" with the reason in `cause`; the reason a consortium meets most is a
 * node certificate from a CA the caller was not told to trust.
 */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
]);

/**
 * `e` with the TLS reason spelled out. `trust` names how the caller configures the CA
 * (`--ca <file>`, `nodeCaFile`); `configured` says whether it did (then the CA is the wrong one).
 */
export function describeTlsError(e: unknown, trust: string, configured: boolean): Error {
  const err = e as Error & { code?: string; cause?: { code?: string; message?: string } };
  const code = err.code ?? err.cause?.code;
  let why: string | undefined;
  if (code && UNTRUSTED.has(code))
    why = configured
      ? `the node's certificate is not issued by the configured CA (${trust})`
      : `the node's certificate is not issued by a trusted CA (configure its CA: ${trust})`;
  else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    why = "the node's certificate does not name the host in the URL";
  else if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    why = "the node's certificate is outside its validity period";
  if (why) return new Error(`TLS refused: ${why} (${code})`);
  return err.cause?.message ? new Error(`${err.message}: ${err.cause.message}`) : err;
}
