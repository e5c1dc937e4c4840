/** Loads and freezes the cloud config; see schema.ts for every key and its default. */
import { resolve } from 'node:path';
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
