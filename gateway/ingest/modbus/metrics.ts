/**
 * The poller's Prometheus metrics (`ct_modbus_*`), registered on the gateway's registry so they appear in
 * its /metrics next to the rest. The per-device counters are read from the devices' health at scrape time
 * (the health record is the one tally, as the status API shows it), so a poll costs no label lookups.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ModbusHealth } from './health.ts';

export interface MetricsSource {
  devices(): Iterable<{ deviceId: string; health: ModbusHealth }>;
  /** Connection events by bus key. */
  buses(): Iterable<{ bus: string; disconnects: number; reconnects: number }>;
}

export class ModbusMetrics {
  readonly pollSeconds: Histogram;

  constructor(registry: Registry, source: MetricsSource) {
    const registers = [registry];
    new Counter({
      name: 'ct_modbus_polls_total',
      help: 'Modbus polls by device and result (ok: every block read and journaled; partial; failed)',
      labelNames: ['device', 'result'] as const,
      registers,
      collect() {
        this.reset();
        for (const { deviceId: device, health: h } of source.devices()) {
          this.inc({ device, result: 'ok' }, h.counters.ok);
          this.inc({ device, result: 'partial' }, h.counters.partial);
          this.inc({ device, result: 'failed' }, h.counters.failed);
        }
      },
    });
    new Counter({
      name: 'ct_modbus_faults_total',
      help: 'Failed Modbus requests by device and fault (exception_01…0B, timeout, crc, disconnect, connect_failed)',
      labelNames: ['device', 'fault'] as const,
      registers,
      collect() {
        this.reset();
        for (const { deviceId: device, health: h } of source.devices())
          for (const [fault, n] of Object.entries(h.counters.faults)) this.inc({ device, fault }, n);
      },
    });
    // One series per device, read from its health at scrape time.
    const perDevice = (
      Metric: typeof Counter | typeof Gauge,
      name: string,
      help: string,
      value: (h: ModbusHealth) => number,
    ) =>
      new Metric({
        name,
        help,
        labelNames: ['device'] as const,
        registers,
        collect() {
          this.reset();
          for (const { deviceId: device, health } of source.devices()) this.inc({ device }, value(health));
        },
      });
    perDevice(
      Counter,
      'ct_modbus_retries_total',
      'Modbus requests repeated after a timeout, frame error or disconnect, by device',
      (h) => h.counters.retries,
    );
    perDevice(
      Counter,
      'ct_modbus_registers_read_total',
      'Registers (or bits) read successfully, by device',
      (h) => h.counters.registersRead,
    );
    new Counter({
      name: 'ct_modbus_connection_events_total',
      help: 'Modbus bus connections lost (disconnect) and re-established (reconnect), by bus',
      labelNames: ['bus', 'event'] as const,
      registers,
      collect() {
        this.reset();
        for (const b of source.buses()) {
          this.inc({ bus: b.bus, event: 'disconnect' }, b.disconnects);
          this.inc({ bus: b.bus, event: 'reconnect' }, b.reconnects);
        }
      },
    });
    perDevice(
      Gauge,
      'ct_modbus_device_up',
      '1 while a polled device answers (online or degraded), 0 when offline or not yet polled',
      (h) => (h.state === 'online' || h.state === 'degraded' ? 1 : 0),
    );
    perDevice(
      Gauge,
      'ct_modbus_consecutive_failures',
      'Failed polls in a row, by device (drives the backoff)',
      (h) => h.consecutiveFailures,
    );
    this.pollSeconds = new Histogram({
      name: 'ct_modbus_poll_duration_seconds',
      help: 'Time from the start of a poll to its readings being journaled',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
  }
}
