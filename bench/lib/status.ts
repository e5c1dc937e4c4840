/**
 * What the gateway says it journaled, read over HTTP after a load: /api/status with a bench staff login
 * (HTTP Basic), or the public Prometheus /metrics when the status API refuses us. Benchmarks compare this
 * with the PUBACKs they counted, so a throughput figure can't come from acks that were never journaled.
 */
import { hashPassword } from '../../gateway/registry/index.ts';
import { metricSamples } from '../../shared/prometheus-text.ts';

export const BENCH_STAFF = { username: 'bench', password: 'bench-staff-pw' } as const;

/** The `http.staff` entry for the gateway config (low scrypt cost: this is a throwaway login). */
export async function benchStaffConfig(): Promise<{ username: string; passwordHash: string }[]> {
  return [
    { username: BENCH_STAFF.username, passwordHash: await hashPassword(BENCH_STAFF.password, 1024, 8, 1) },
  ];
}

export interface GatewayCounts {
  via: '/api/status' | '/metrics';
  /** Journaled readings from MQTT. */
  accepted: number;
  duplicates: number;
  late: number;
  /** Rejections from MQTT, by error code. */
  rejected: Record<string, number>;
  mqttClients: number | null;
  journalRows: number | null;
  outboxRows: number | null;
}

interface StatusBody {
  readings: {
    accepted: Record<string, number>;
    duplicates: Record<string, number>;
    late: number;
    rejected: Record<string, Record<string, number>>;
  };
  mqtt?: { clients?: number };
  journal?: { rows?: number };
  outbox?: { rows?: number };
}

export async function gatewayCounts(httpPort: number): Promise<GatewayCounts> {
  const base = `http://127.0.0.1:${httpPort}`;
  const auth = Buffer.from(`${BENCH_STAFF.username}:${BENCH_STAFF.password}`).toString('base64');
  const res = await fetch(`${base}/api/status`, { headers: { authorization: `Basic ${auth}` } });
  if (res.ok) {
    const s = (await res.json()) as StatusBody;
    return {
      via: '/api/status',
      accepted: s.readings.accepted['mqtt'] ?? 0,
      duplicates: s.readings.duplicates['mqtt'] ?? 0,
      late: s.readings.late,
      rejected: s.readings.rejected['mqtt'] ?? {},
      mqttClients: s.mqtt?.clients ?? null,
      journalRows: s.journal?.rows ?? null,
      outboxRows: s.outbox?.rows ?? null,
    };
  }
  await res.body?.cancel();
  const m = await fetch(`${base}/metrics`, { headers: { authorization: `Basic ${auth}` } });
  if (!m.ok) throw new Error(`/api/status: HTTP ${res.status}; /metrics: HTTP ${m.status}`);
  const text = await m.text();
  const rejected: Record<string, number> = {};
  for (const [labels, v] of metricSamples(text, 'ct_readings_rejected_total')) {
    if (labels['source'] === 'mqtt' && v > 0) rejected[labels['code'] ?? '?'] = v;
  }
  const one = (name: string, source?: string) =>
    metricSamples(text, name).find(([l]) => source === undefined || l['source'] === source)?.[1];
  return {
    via: '/metrics',
    accepted: one('ct_readings_accepted_total', 'mqtt') ?? 0,
    duplicates: one('ct_readings_duplicate_total', 'mqtt') ?? 0,
    late: one('ct_readings_late_total') ?? 0,
    rejected,
    mqttClients: one('ct_mqtt_clients') ?? null,
    journalRows: one('ct_journal_rows') ?? null,
    outboxRows: null,
  };
}

/** Where the gateway's memory is, from its own /metrics (prom-client's Node metrics), in MB. */
export interface HeapBreakdown {
  heapTotal: number;
  heapUsed: number;
  /** Memory of C++ objects bound to JS (Buffers' backing stores included). */
  external: number;
  /** Used bytes per V8 heap space (new_space, old_space, code_space, large_object_space, …). */
  spacesUsed: Record<string, number>;
}

export async function heapBreakdown(httpPort: number): Promise<HeapBreakdown | null> {
  const auth = Buffer.from(`${BENCH_STAFF.username}:${BENCH_STAFF.password}`).toString('base64');
  const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`, {
    headers: { authorization: `Basic ${auth}` },
  });
  if (!res.ok) {
    await res.body?.cancel();
    return null;
  }
  const text = await res.text();
  const mb = (v: number | undefined) => Math.round(((v ?? 0) / 2 ** 20) * 10) / 10;
  const one = (name: string) => metricSamples(text, name)[0]?.[1];
  const spacesUsed: Record<string, number> = {};
  for (const [labels, v] of metricSamples(text, 'ct_nodejs_heap_space_size_used_bytes'))
    if (labels['space']) spacesUsed[labels['space']] = mb(v);
  return {
    heapTotal: mb(one('ct_nodejs_heap_size_total_bytes')),
    heapUsed: mb(one('ct_nodejs_heap_size_used_bytes')),
    external: mb(one('ct_nodejs_external_memory_bytes')),
    spacesUsed,
  };
}
