/**
 * deploy/azure: what can be checked without the Bicep and Azure CLIs (neither installs here; the README
 * says so). Every parameter of main.bicep is documented in its README table; the parameters file names only
 * real parameters and gives each one without a default; and the environment the template gives the cloud
 * container is taken by the cloud's own config loader with the intended values.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCloudConfig } from '../cloud/config/index.ts';
import { REPO_ROOT } from './helpers/process.ts';

const dir = join(REPO_ROOT, 'deploy', 'azure');
const bicep = readFileSync(join(dir, 'main.bicep'), 'utf8');
const readme = readFileSync(join(dir, 'README.md'), 'utf8');
const params = [...bicep.matchAll(/^param (\w+) (\w+)( = .*)?$/gm)].map((m) => ({
  name: m[1]!,
  type: m[2]!,
  required: m[3] === undefined,
}));

describe('deploy/azure/main.bicep', () => {
  it('documents every parameter, and the parameters file gives the required ones', () => {
    expect(params.length).toBeGreaterThan(10);
    const documented = new Set([...readme.matchAll(/^\| `(\w+)` *\|/gm)].map((m) => m[1]));
    expect([...documented].sort()).toEqual(params.map((p) => p.name).sort());
    const file = JSON.parse(readFileSync(join(dir, 'main.parameters.json'), 'utf8')) as {
      parameters: Record<string, unknown>;
    };
    const given = Object.keys(file.parameters);
    for (const g of given)
      expect(
        params.map((p) => p.name),
        g,
      ).toContain(g);
    for (const p of params.filter((x) => x.required)) expect(given, p.name).toContain(p.name);
    // Secrets are @secure() and never outputs.
    for (const secret of ['apiTokens', 'postgresAdminPassword']) {
      expect(bicep).toMatch(new RegExp(`@secure\\(\\)\\nparam ${secret} `));
      expect(bicep).not.toMatch(new RegExp(`^output .*${secret}`, 'm'));
    }
    expect(bicep).not.toMatch(/^output .*listKeys/m);
  });

  it('gives the cloud container an environment its config loader accepts as intended', () => {
    const env: Record<string, string> = {};
    const block = bicep.slice(bicep.indexOf('env: ['), bicep.indexOf('volumeMounts'));
    for (const m of block.matchAll(/\{ name: '(\w+)', (value|secretRef): ([^}]+) \}/g)) {
      const [, name, kind, raw] = m;
      // Secrets stand in with a value of their shape; values are the template's own (literal or variable).
      const literal = raw!.trim().replace(/^'(.*)'$/, '$1');
      const resolved =
        literal === 'hubName'
          ? 'campus-twin'
          : literal === 'consumerGroupName'
            ? 'campus-twin-cloud'
            : literal;
      env[name!] =
        kind === 'value'
          ? resolved
          : name === 'CT_API__TOKENS'
            ? '["a-long-enough-api-token"]'
            : name === 'CT_STORE__URL'
              ? 'postgres://campustwin:p%40ss@ct-pg.postgres.database.azure.com:5432/campustwin?sslmode=require'
              : 'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=cloud-listen;SharedAccessKey=k;EntityPath=campus-twin';
    }
    expect(Object.keys(env).sort()).toEqual([
      'CT_API__TOKENS',
      'CT_EVENT_HUB__CONNECTION_STRING',
      'CT_EVENT_HUB__CONSUMER_GROUP',
      'CT_EVENT_HUB__HUB_NAME',
      'CT_STORE__URL',
      'MALLOC_ARENA_MAX',
    ]);
    const config = loadCloudConfig(join(REPO_ROOT, 'config', 'cloud.yaml'), env);
    expect(config.eventHub.hubName).toBe('campus-twin');
    expect(config.eventHub.consumerGroup).toBe('campus-twin-cloud');
    expect(config.eventHub.connectionString).toContain('SharedAccessKeyName=cloud-listen');
    expect(config.api.tokens).toEqual(['a-long-enough-api-token']);
    expect(config.store.url).toMatch(/^postgres:\/\/.*sslmode=require$/);
    // The secret's value is the URL the template builds for the server it provisions.
    expect(bicep).toMatch(
      /value: 'postgres:\/\/\$\{postgresAdminLogin\}:\$\{uriComponent\(postgresAdminPassword\)\}@/,
    );
    expect(config.api.host).toBe('0.0.0.0');
    expect(config.api.port).toBe(8000);
    // The probes and the ingress use the port the cloud listens on.
    expect(bicep).toContain('targetPort: 8000');
    expect(bicep.match(/port: 8000 \}/g)).toHaveLength(2);
  });
});
