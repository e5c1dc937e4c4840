/** The webhook counters, registered on the gateway's registry (one per gateway instance). */
import { Counter, type Registry } from 'prom-client';

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
}
