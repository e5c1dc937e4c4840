/** Loads and freezes the gateway config; see schema.ts for every key and its default. */
import { resolve } from 'node:path';
import { type DeepReadonly, loadConfig, readYamlFile } from '../../shared/config.ts';
import { type GatewayConfigData, gatewaySchema } from './schema.ts';

export type GatewayConfig = DeepReadonly<GatewayConfigData>;
export { gatewaySchema };

export function gatewayConfigFrom(
  raw: unknown,
  env: NodeJS.ProcessEnv = {},
  file = '(inline)',
): GatewayConfig {
  return loadConfig(gatewaySchema, raw ?? {}, { file, env });
}

export function loadGatewayConfig(file: string | undefined, env: NodeJS.ProcessEnv): GatewayConfig {
  const raw = file ? readYamlFile(resolve(file)) : {};
  return gatewayConfigFrom(raw, env, file ?? '(defaults)');
}
