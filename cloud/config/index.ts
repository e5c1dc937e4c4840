/** Loads and freezes the cloud config; see schema.ts for every key and its default. */
import { join, resolve } from 'node:path';
import { type DeepReadonly, loadConfig, readYamlFile } from '../../shared/config.ts';
import { type CloudConfigData, cloudSchema } from './schema.ts';

export type CloudConfig = DeepReadonly<CloudConfigData>;
export { cloudSchema };

export function cloudConfigFrom(raw: unknown, env: NodeJS.ProcessEnv = {}, file = '(inline)'): CloudConfig {
  return loadConfig(cloudSchema, raw ?? {}, { file, env });
}

export function loadCloudConfig(file: string | undefined, env: NodeJS.ProcessEnv): CloudConfig {
  const raw = file ? readYamlFile(resolve(file)) : {};
  return cloudConfigFrom(raw, env, file ?? '(defaults)');
}

/** The hub name: the setting, else the connection string's EntityPath (undefined when neither). */
export function hubNameOf(config: CloudConfig): string | undefined {
  if (config.eventHub.hubName) return config.eventHub.hubName;
  const m = /(?:^|;)\s*EntityPath=([^;]+)/i.exec(config.eventHub.connectionString);
  return m?.[1]?.trim() || undefined;
}

/**
 * The config a `campus-twin cloud …` command runs with: `--config` (else CT_CONFIG_FILE, else
 * config/cloud.yaml), with `--data-dir DIR` putting the SQLite store at DIR/cloud.db and `--store URL`
 * selecting PostgreSQL. `env` carries any other flag already turned into an override.
 */
export function loadCliConfig(
  flags: { config?: string | undefined; 'data-dir'?: string | undefined; store?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): CloudConfig {
  const overrides = { ...env };
  if (flags['data-dir']) overrides.CT_STORE__FILE = join(flags['data-dir'], 'cloud.db');
  if (flags.store) overrides.CT_STORE__URL = flags.store;
  return loadCloudConfig(flags.config ?? (env.CT_CONFIG_FILE || 'config/cloud.yaml'), overrides);
}

/** A database URL with its password masked, for logs and banners. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** Which store a config names, for people: the SQLite file, or the PostgreSQL URL (password masked). */
export function storeLabel(config: CloudConfig): string {
  const s = config.store;
  if (!s.url) return s.file;
  return `PostgreSQL ${redactUrl(s.url)}${s.schema ? ` (schema ${s.schema})` : ''}`;
}
