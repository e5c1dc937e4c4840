/**
 * The Prometheus alert rules shipped in deploy/ only name metrics that the gateway and the cloud really
 * export (both scraped here, running), carry a severity, and point at a runbook section that exists in
 * docs/operations.md.
 */
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Cloud } from '../cloud/app.ts';
import { startTestCloud } from './helpers/cloud.ts';
import { startTestGateway, type TestGateway, tempDir } from './helpers/gateway.ts';
import { startTestHub, type TestHub, uplinkConfig } from './helpers/hub.ts';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; runbook: string };
}

const RULES = parse(readFileSync('deploy/prometheus/campus-twin-alerts.yaml', 'utf8')) as {
  groups: { name: string; rules: Rule[] }[];
};
const OPERATIONS = readFileSync('docs/operations.md', 'utf8');

/** GitHub's heading anchors: lower case, spaces to dashes, punctuation dropped. */
function anchors(markdown: string): Set<string> {
  return new Set(
    [...markdown.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, '')
        .replace(/ /g, '-'),
    ),
  );
}

/** Metric families a /metrics text declares (# TYPE lines), histograms' series included. */
function families(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    out.add(m[1]!);
    if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(m[1]! + s);
  }
  return out;
}

describe('Prometheus alert rules in deploy/', () => {
  let hub: TestHub;
  let gateway: TestGateway;
  let cloud: Cloud;
  let dir: string;
  let exported: Set<string>;
  beforeAll(async () => {
    hub = await startTestHub();
    gateway = await startTestGateway(uplinkConfig(hub));
    dir = tempDir('ct-ops-');
    cloud = await startTestCloud(hub, dir);
    // One API request so that the latency histogram has its series.
    await fetch(`http://127.0.0.1:${cloud.port}/healthz`);
    const g = await (await fetch(`${gateway.httpUrl}/metrics`)).text();
    const c = await (await fetch(`http://127.0.0.1:${cloud.port}/metrics`)).text();
    exported = new Set([...families(g), ...families(c)]);
  });
  afterAll(async () => {
    await cloud?.stop();
    await gateway?.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const rules = RULES.groups.flatMap((g) => g.rules);

  it('covers backlog age, rejected rate, consumer lag and API latency, among others', () => {
    expect(rules.length).toBeGreaterThanOrEqual(10);
    for (const name of [
      'CampusTwinBacklogOld',
      'CampusTwinRejectedRate',
      'CampusTwinConsumerLag',
      'CampusTwinApiLatency',
    ])
      expect(rules.map((r) => r.alert)).toContain(name);
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
  });

  it.each(rules.map((r) => [r.alert, r] as const))('%s names only exported metrics', (_name, rule) => {
    const metrics = [...rule.expr.matchAll(/\bct_[a-z_]+/g)].map((m) => m[0]);
    // Either our metrics, or Prometheus's own `up` for one of the two scrape jobs.
    if (metrics.length === 0) expect(rule.expr).toMatch(/^up\{job="campus-twin-(gateway|cloud)"\} == 0$/);
    for (const m of metrics) expect(exported, `${m} in ${rule.alert}`).toContain(m);
  });

  it.each(rules.map((r) => [r.alert, r] as const))(
    '%s has a severity and a runbook section',
    (_name, rule) => {
      expect(['warning', 'critical']).toContain(rule.labels.severity);
      expect(rule.annotations.summary.length).toBeGreaterThan(10);
      const [file, anchor] = rule.annotations.runbook.split('#');
      expect(file).toBe('docs/operations.md');
      expect(anchors(OPERATIONS)).toContain(anchor);
    },
  );
});
