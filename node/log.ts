/**
 * Structured JSON logs (pino). Every line names its component; key material is redacted by path as
 * a second line of defence — the first is that keys are held in objects that never serialise them.
 */
import { type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { app: 'tillid', ...base },
    redact: {
      paths: ['privateKey', '*.privateKey', 'seed', '*.seed', 'authorization', '*.authorization'],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
