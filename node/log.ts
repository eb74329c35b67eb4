/**
 * Structured JSON logs (pino). Every line names its component; key material is redacted by path as
 * a second line of defence — the first is that keys are held in objects that never serialise them.
 */
import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * A logger writing JSON lines to stdout. With `also`, every line at `also.level` or above goes to
 * that stream too (the gateway keeps its recent warnings for the console: gateway/log-ring.ts);
 * `stdout: false` drops the stdout stream (tests that only inspect `also`).
 */
export function createLogger(
  level: string,
  base: Record<string, unknown> = {},
  also?: { level: string; stream: { write(line: string): void }; stdout?: boolean },
): Logger {
  const options = {
    level,
    base: { app: 'tillid', ...base },
    redact: {
      paths: ['privateKey', '*.privateKey', 'seed', '*.seed', 'authorization', '*.authorization'],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (!also) return pino(options);
  const streams = [
    ...(also.stdout === false ? [] : [{ level, stream: pino.destination({ dest: 1, sync: true }) }]),
    { level: also.level, stream: also.stream },
  ];
  return pino(options, pino.multistream(streams as Parameters<typeof pino.multistream>[0]));
}
