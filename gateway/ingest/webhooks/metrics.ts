/** The webhook counters, registered on the gateway's registry (one per gateway instance). */
import { Counter, type Registry } from 'prom-client';

/** Counter values by source, then by the other label: `{caliper: {accepted: 3, CT_ERR_SCHEMA: 1}}`. */
async function bySource(
  c: Counter<'source' | 'code'> | Counter<'source' | 'result'>,
  label: 'code' | 'result',
) {
  const out: Record<string, Record<string, number>> = {};
  for (const v of (await c.get()).values) {
    const source = String(v.labels.source);
    const key = String((v.labels as Record<string, unknown>)[label]);
    out[source] = { ...out[source], [key]: v.value };
  }
  return out;
}

export class WebhookMetrics {
  readonly requests: Counter<'source' | 'code'>;
  readonly events: Counter<'source' | 'result'>;

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: 'ct_webhook_requests_total',
      help: 'Webhook requests by source and outcome (accepted, or the error code)',
      labelNames: ['source', 'code'] as const,
      registers: [registry],
    });
    this.events = new Counter({
      name: 'ct_webhook_events_total',
      help: 'Webhook events by source and result (accepted = journaled, duplicate = already journaled, ignored = Caliper entities)',
      labelNames: ['source', 'result'] as const,
      registers: [registry],
    });
  }

  /** For /api/status: requests by source and outcome, events by source and result (conflicts included). */
  async summary(): Promise<{
    requests: Record<string, Record<string, number>>;
    events: Record<string, Record<string, number>>;
  }> {
    return { requests: await bySource(this.requests, 'code'), events: await bySource(this.events, 'result') };
  }
}
