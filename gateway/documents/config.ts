/**
 * The `documents` section of the gateway's configuration (gateway/plugins/documents.ts reads it).
 * Paths are resolved against the config file's directory.
 */
import { need, positiveInteger, section } from '../config-check.ts';

export interface DocumentsConfig {
  /** Where the file store keeps documents; default `<keyStoreDir>/../documents`. */
  readonly dir?: string;
  /** Where per-document keys live, if apart from the documents. */
  readonly keyDir?: string;
  /** A file holding the hex master key that wraps the per-document keys. */
  readonly masterKeyFile?: string;
  /** Largest document accepted, in bytes. */
  readonly maxBytes?: number;
}

const KEYS = ['dir', 'keyDir', 'masterKeyFile', 'maxBytes'] as const;

export function documentsConfig(raw: unknown, path: (p: string) => string): DocumentsConfig {
  const d = section(raw, 'documents', KEYS);
  for (const key of ['dir', 'keyDir', 'masterKeyFile'] as const)
    if (d[key] !== undefined)
      need(typeof d[key] === 'string' && d[key] !== '', `documents.${key} must be a path`);
  if (d.maxBytes !== undefined)
    need(positiveInteger(d.maxBytes), 'documents.maxBytes must be a positive integer');
  return {
    ...(d.dir ? { dir: path(d.dir) } : {}),
    ...(d.keyDir ? { keyDir: path(d.keyDir) } : {}),
    ...(d.masterKeyFile ? { masterKeyFile: path(d.masterKeyFile) } : {}),
    ...(d.maxBytes !== undefined ? { maxBytes: d.maxBytes } : {}),
  };
}
