/**
 * pino logging for every process: one root logger, component children, secrets redacted wherever they
 * appear in a logged object.
 */
import { type Logger, pino } from 'pino';

export type { Logger };

const REDACT = [
  'password',
  '*.password',
  '*.*.password',
  'passwordHash',
  '*.passwordHash',
  'secret',
  '*.secret',
  '*.*.secret',
  'campusSecret',
  '*.campusSecret',
  'connectionString',
  '*.connectionString',
  '*.*.connectionString',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'token',
  '*.token',
];

/**
 * Texts (error messages, stacks) can carry a connection string whole: mask its key wherever it appears.
 * Logged objects are covered by the redact paths above; this is for what is printed or shown as text.
 */
export function redactSecretsInText(text: string): string {
  return text.replace(/(SharedAccessKey|SharedAccessSignature)=[^;\s'"]+/gi, '$1=***');
}

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** Where to write; defaults to stdout. Tests pass a stream to read what was logged. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const options = {
    name: opts.name ?? 'campus-twin',
    level: opts.level ?? 'info',
    redact: { paths: REDACT, censor: '[redacted]' },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
