/**
 * One poll's register data to Readings and quarantine entries: decode each value, the plausibility gate,
 * then the same gate as MQTT readings (channel registered, finite, physical range, time window), then the
 * deadband. Pure apart from the deadband memory it is handed.
 */
import type { DeviceInfo } from '../../../shared/campus.ts';
import type { Reading } from '../../../shared/events.ts';
import type { QuarantineEntry } from '../../journal/index.ts';
import { Sink } from '../decode/validate.ts';
import type { ReadData } from './bus.ts';
import { type CounterState, checkCounter } from './counters.ts';
import { checkPlausible, decodeRegister, wireBytes, wordsOf } from './decode.ts';
import { passesDeadband } from './health.ts';
import type { Block } from './plan.ts';

export interface PollContext {
  device: DeviceInfo;
  /** Receive time, epoch ms. */
  now: number;
  /** Event time of every reading of this poll. */
  ts: number;
  maxFutureMs: number;
  retentionMs: number;
  /** Last forwarded value per register with a deadband; updated for the values that pass. */
  lastForwarded: Map<string, { value: number; at: number }>;
  /** Last accepted value of each monotonic counter (see counters.ts); updated as values pass. */
  counters: Map<string, CounterState>;
}

export function pollReadings(
  ctx: PollContext,
  read: readonly { block: Block; data: ReadData }[],
): { readings: Reading[]; rejected: QuarantineEntry[]; counterResets: string[] } {
  const { device, now, ts } = ctx;
  const sink = new Sink({
    device,
    now,
    maxFutureMs: ctx.maxFutureMs,
    oldestAcceptedTs: now - ctx.retentionMs,
    maxPayloadBytes: Number.MAX_SAFE_INTEGER,
    source: 'modbus',
  });
  const rejected: QuarantineEntry[] = [];
  const counterResets: string[] = [];
  const quarantine = (name: string, words: readonly number[], code: string, message: string) => {
    rejected.push({
      at: now,
      source: 'modbus',
      deviceId: device.deviceId,
      topic: `modbus/${device.deviceId}/${name}`,
      code,
      message,
      // The raw registers as on the wire, so the quarantine shows what the device sent.
      payload: wireBytes(words),
    });
  };
  for (const { block, data } of read) {
    for (const spec of block.registers) {
      const d = decodeRegister(spec, data, block.address);
      const bad = checkPlausible(d);
      if (bad) {
        quarantine(spec.name, wordsOf(spec, data, block.address), bad.code, bad.detail);
        continue;
      }
      const ch = device.channels.get(spec.name);
      if (!ch) {
        quarantine(
          spec.name,
          wordsOf(spec, data, block.address),
          'CT_ERR_UNKNOWN_CHANNEL',
          `${spec.name} is not a channel of ${device.deviceId}`,
        );
        continue;
      }
      const before = sink.rejections.length;
      const count = sink.readings.length;
      sink.accept(ch, d.value, ts, spec.name);
      if (sink.rejections.length > before) {
        const rj = sink.rejections[sink.rejections.length - 1]!;
        quarantine(spec.name, wordsOf(spec, data, block.address), rj.code, rj.message);
        continue;
      }
      if (sink.readings.length > count && spec.monotonic) {
        const verdict = checkCounter(ctx.counters, spec.name, d.value);
        if (!verdict.ok) {
          sink.readings.pop();
          quarantine(spec.name, wordsOf(spec, data, block.address), 'CT_ERR_IMPLAUSIBLE', verdict.detail);
          continue;
        }
        if (verdict.reset) counterResets.push(spec.name);
      }
      if (sink.readings.length > count && spec.deadband > 0) {
        // Refreshed at the device's expected interval, so the twin keeps seeing a steady device as alive.
        if (
          !passesDeadband(
            ctx.lastForwarded.get(spec.name),
            d.value,
            now,
            spec.deadband,
            device.expectedIntervalMs,
          )
        )
          sink.readings.pop();
        else ctx.lastForwarded.set(spec.name, { value: d.value, at: now });
      }
    }
  }
  return { readings: sink.readings, rejected, counterResets };
}
