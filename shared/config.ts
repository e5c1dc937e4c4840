/**
 * Config loading shared by every process: a YAML file, then environment overrides, validated once by a
 * zod schema and deep-frozen. A bad file fails fast with the path of the bad field.
 *
 * Environment overrides: `CT_` + the key path in upper snake case, `__` between levels, e.g.
 * `CT_MQTT__PORT=0`, `CT_JOURNAL__RETENTION_MS=3600000`, `CT_GATEWAY_ID=gw-1`. Values are parsed as JSON
 * when they parse (numbers, booleans, arrays), otherwise taken as strings.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { CampusTwinError } from './errors.ts';

export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

export function deepFreeze<T>(value: T): DeepReadonly<T> {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value as DeepReadonly<T>;
}

export class ConfigError extends CampusTwinError {
  constructor(
    readonly file: string,
    readonly field: string,
    detail: string,
  ) {
    super('CT_ERR_CONFIG', `${file}: ${field || '(root)'}: ${detail}`);
    this.name = 'ConfigError';
  }
}

export function readYamlFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, '', `cannot read file (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  try {
    return parseYaml(text) ?? {};
  } catch (err) {
    throw new ConfigError(file, '', `not valid YAML: ${(err as Error).message}`);
  }
}

const norm = (s: string) => s.replace(/_/g, '').toLowerCase();

function parseEnvValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * Overlay `CT_…` variables onto a fully defaulted config object. Keys are matched case- and
 * underscore-insensitively against the keys that exist, so every setting (and only a setting) can be set.
 */
export function applyEnvOverrides(
  target: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  prefix = 'CT_',
): string[] {
  const applied: string[] = [];
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(prefix) || raw === undefined) continue;
    const segments = name.slice(prefix.length).split('__');
    let node: Record<string, unknown> = target;
    let path = '';
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      const key = Object.keys(node).find((k) => norm(k) === norm(seg));
      if (key === undefined) break;
      path = path ? `${path}.${key}` : key;
      if (i === segments.length - 1) {
        // A string setting takes the text as it is (CT_GATEWAY_ID=123 stays "123").
        node[key] = typeof node[key] === 'string' ? raw : parseEnvValue(raw);
        applied.push(path);
      } else {
        const next = node[key];
        if (!next || typeof next !== 'object' || Array.isArray(next)) break;
        node = next as Record<string, unknown>;
      }
    }
  }
  return applied;
}

function formatIssue(issue: z.core.$ZodIssue): { field: string; detail: string } {
  return { field: issue.path.map(String).join('.'), detail: issue.message };
}

/** Validate, apply env overrides, validate again, freeze. */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  /** `prefix`: which variables override (default `CT_`; the hub reads `CT_HUB_` so it can share an environment). */
  opts: { file: string; env?: NodeJS.ProcessEnv; prefix?: string },
): DeepReadonly<z.output<S>> {
  const first = schema.safeParse(raw);
  if (!first.success) {
    const { field, detail } = formatIssue(first.error.issues[0]!);
    throw new ConfigError(opts.file, field, detail);
  }
  const merged = structuredClone(first.data) as Record<string, unknown>;
  applyEnvOverrides(merged, opts.env ?? {}, opts.prefix);
  const second = schema.safeParse(merged);
  if (!second.success) {
    const { field, detail } = formatIssue(second.error.issues[0]!);
    throw new ConfigError('environment', field, detail);
  }
  return deepFreeze(second.data);
}
