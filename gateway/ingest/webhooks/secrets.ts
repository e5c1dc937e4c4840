/**
 * Secrets for the webhook sources and the pseudonymiser, resolved once at gateway start from the config
 * (inline value, a file, or an environment variable named in the config). Missing ones fail fast with the
 * config path. In dev mode without a pseudonym secret a random one is created in dataDir and kept.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../../shared/config.ts';
import { writeFileDurable } from '../../../shared/durable-file.ts';

export interface SecretSpec {
  secret: string;
  secretFile: string;
  secretEnv: string;
}

export function resolveSecret(spec: SecretSpec, field: string, env: NodeJS.ProcessEnv): string | undefined {
  if (spec.secret) return spec.secret;
  if (spec.secretFile) {
    try {
      const s = readFileSync(spec.secretFile, 'utf8').trim();
      if (s) return s;
    } catch (err) {
      throw new ConfigError(
        'config',
        `${field}File`,
        `cannot read ${spec.secretFile} (${(err as NodeJS.ErrnoException).code})`,
      );
    }
    throw new ConfigError('config', `${field}File`, `${spec.secretFile} is empty`);
  }
  if (spec.secretEnv) {
    const s = env[spec.secretEnv]?.trim();
    if (s) return s;
    throw new ConfigError('config', `${field}Env`, `environment variable ${spec.secretEnv} is not set`);
  }
  return undefined;
}

export function pseudonymSecret(
  spec: SecretSpec,
  env: NodeJS.ProcessEnv,
  dev: boolean,
  dataDir: string,
): Buffer {
  const s = resolveSecret(spec, 'webhooks.pseudonym.secret', env);
  if (s) {
    if (Buffer.byteLength(s) < 16) {
      throw new ConfigError('config', 'webhooks.pseudonym.secret', 'must be at least 16 bytes');
    }
    return Buffer.from(s, 'utf8');
  }
  if (!dev) throw new ConfigError('config', 'webhooks.pseudonym.secret', 'required outside dev mode');
  const file = join(dataDir, 'pseudonym-dev.key');
  // Atomic and fsynced: a power cut must not leave an empty key (every pseudonym would change).
  if (!existsSync(file)) writeFileDurable(file, randomBytes(32).toString('base64url'), 0o600);
  const key = readFileSync(file, 'utf8').trim();
  if (Buffer.byteLength(key) < 16)
    throw new ConfigError(
      file,
      '',
      'the dev pseudonym key is damaged (shorter than 16 bytes); delete the file to make a new one (pseudonyms then change)',
    );
  return Buffer.from(key, 'utf8');
}
