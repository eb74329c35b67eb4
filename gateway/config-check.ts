/**
 * The checks every section of the gateway's configuration uses, in their own file so that a
 * plugin's section (documents/config.ts, events/config.ts) and the whole (config.ts) share them
 * without importing each other. A misspelt key is an error naming it: a typo must not silently turn
 * a feature off (`events.amqp.urll` used to leave AMQP off without a word).
 */

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

// biome-ignore lint/suspicious/noExplicitAny: raw config is untrusted JSON, checked field by field
export type Raw = Record<string, any>;

export function need(ok: boolean, what: string): asserts ok {
  if (!ok) throw new ConfigError(`gateway config: ${what}`);
}

/** `value` is an object whose keys are all among `known`; `where` names it in the error (`events.amqp`). */
export function section(value: unknown, where: string, known: readonly string[]): Raw {
  need(typeof value === 'object' && value !== null && !Array.isArray(value), `${where} must be an object`);
  for (const key of Object.keys(value)) {
    need(
      known.includes(key),
      `unknown key ${where ? `${where}.` : ''}${key} (known keys${where ? ` of ${where}` : ''}: ${known.join(', ')})`,
    );
  }
  return value as Raw;
}

export const isUrl = (v: unknown): boolean => isUrlOf(v, ['http:', 'https:']);

export const isUrlOf = (v: unknown, protocols: readonly string[]): boolean => {
  if (typeof v !== 'string') return false;
  try {
    return protocols.includes(new URL(v).protocol);
  } catch {
    return false;
  }
};

export const positiveInteger = (v: unknown, min = 1): boolean => Number.isInteger(v) && (v as number) >= min;
