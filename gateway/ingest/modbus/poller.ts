/**
 * The Modbus poller: owns a timer per device and a bus (ModbusBus) per serial line / TCP endpoint. A poll
 * reads the device's planned blocks one after another (each through the bus' fair queue, with retries),
 * decodes and checks the values, and hands readings and rejections to the pipeline; it counts as a success
 * only once the pipeline has journaled them. A failing device backs off exponentially and is reported
 * offline; its neighbours on the bus keep their rate. Nothing here throws into the gateway: every fault
 * becomes health, counters and logs.
 */
import type { Campus, DeviceInfo } from '../../../shared/campus.ts';
import type { Reading } from '../../../shared/events.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { QuarantineEntry } from '../../journal/index.ts';
import type { GatewayMetrics } from '../../metrics.ts';
import { JournalBatch } from './batch.ts';
import { ModbusBus, type ReadData, type ReadRequest } from './bus.ts';
import type { CounterState } from './counters.ts';
import { wireBytes, wordsOf } from './decode.ts';
import { classify, errorDetail, type Fault, isRetriable } from './faults.ts';
import { applyOutcome, initialHealth, type ModbusHealth, nextDelayMs, type PollOutcome } from './health.ts';
import { ModbusMetrics } from './metrics.ts';
import { declaredOrder, isMultiWord, suspectOrder } from './order.ts';
import { type Block, planBlocks, splitBlock } from './plan.ts';
import { pollReadings } from './readings.ts';
import { busKey, type ModbusDeviceSettings } from './settings.ts';

export interface ModbusPollerOptions {
  /** Readings stamped later than now + this are refused (cannot happen with the gateway's own clock). */
  maxFutureMs: number;
  retentionMs: number;
  /** Journal writes of polls finishing within this window go in one submission (default 5 ms). */
  batchWindowMs?: number;
}

export interface ModbusPollerDeps {
  campus: Campus;
  pipeline: {
    submitAsync(readings: readonly Reading[], rejected?: readonly QuarantineEntry[]): Promise<void>;
  };
  metrics: GatewayMetrics;
  logger: Logger;
  now: () => number;
  random?: () => number;
}

interface BusEvents {
  disconnects: number;
  reconnects: number;
}

export interface ModbusDeviceReport extends ModbusHealth {
  /** The health counters plus the connection losses and re-establishments of the device's bus. */
  counters: ModbusHealth['counters'] & BusEvents;
  transport: 'tcp' | 'rtu';
  endpoint: string;
  unitId: number;
  profile: string | null;
  pollIntervalMs: number;
  blocks: number;
  /** Owned by the poller's timer, not by the health record. */
  nextPollAt: number | null;
}

interface DeviceRun {
  device: DeviceInfo;
  s: ModbusDeviceSettings;
  bus: ModbusBus;
  blocks: Block[];
  health: ModbusHealth;
  timer: NodeJS.Timeout | undefined;
  /** Starts a poll (created once per device). */
  fire: () => void;
  nextPollAt: number | null;
  immediate: NodeJS.Immediate | undefined;
  polling: Promise<void> | undefined;
  /** This device's journal writes in flight, oldest first (at most MAX_WRITES_IN_FLIGHT). */
  committing: Promise<void>[];
  /** Polls in a row in which no block could be read: drives the backoff. */
  readFailures: number;
  lastTs: number;
  lastForwarded: Map<string, { value: number; at: number }>;
  counters: Map<string, CounterState>;
  /**
   * Whether a poll has shown the map's byte/word order to fit the device (order.ts). Until then each poll
   * is checked, and a poll whose values look like the wrong order is flagged and not journalled.
   */
  orderVerified: boolean;
  log: Logger;
}

/**
 * Journal writes a device may have in flight while its next poll reads. Writes complete in submission
 * order (one batch, one group committer), so health is still updated poll by poll.
 */
const MAX_WRITES_IN_FLIGHT = 32;

/** One block's read: its data, or the fault that ended its attempts. */
type BlockRead = { data: ReadData } | { fault: Fault; detail: string };

function blockRequest(run: DeviceRun, block: Block): ReadRequest {
  const { s } = run;
  return {
    deviceId: run.device.deviceId,
    unitId: s.unitId,
    fc: block.fc,
    address: block.address,
    count: block.count,
    timeoutMs: s.timeoutMs,
  };
}

const NO_BUS_EVENTS: Readonly<BusEvents> = { disconnects: 0, reconnects: 0 };

/** A fault after which the rest of a poll's blocks are not tried: the device is not answering at all. */
function unreachable(f: Fault): boolean {
  return f.kind === 'timeout' || f.kind === 'connect_failed' || f.kind === 'disconnect';
}

export class ModbusPoller {
  readonly metrics: ModbusMetrics;
  readonly #runs = new Map<string, DeviceRun>();
  readonly #buses = new Map<string, ModbusBus>();
  readonly #busEvents = new Map<string, BusEvents>();
  readonly #opts: ModbusPollerOptions;
  readonly #deps: ModbusPollerDeps;
  readonly #log: Logger;
  readonly #random: () => number;
  readonly #batch: JournalBatch;
  #stopped = true;

  constructor(opts: ModbusPollerOptions, deps: ModbusPollerDeps) {
    this.#opts = opts;
    this.#deps = deps;
    this.#log = deps.logger.child({ component: 'modbus' });
    this.#random = deps.random ?? Math.random;
    const runs = this.#runs;
    const busEvents = this.#busEvents;
    this.metrics = new ModbusMetrics(deps.metrics.registry, {
      *devices() {
        for (const [deviceId, run] of runs) yield { deviceId, health: run.health };
      },
      *buses() {
        for (const [bus, n] of busEvents) yield { bus, ...n };
      },
    });
    this.#batch = new JournalBatch((r, q) => deps.pipeline.submitAsync(r, q), opts.batchWindowMs ?? 5, 2000);
    for (const device of deps.campus.devices.values()) {
      const s = device.modbus;
      if (!s) continue;
      const key = busKey(s);
      let bus = this.#buses.get(key);
      if (!bus) {
        bus = new ModbusBus(key, s, this.#log, {
          onDisconnect: () => this.#busEvent(key, 'disconnect'),
          onReconnect: () => this.#busEvent(key, 'reconnect'),
        });
        this.#buses.set(key, bus);
      }
      // The poller reads what becomes Readings; the rest of a map is for `modbus probe --map`.
      const polled = s.map.registers.filter((r) => r.quantity !== undefined);
      const run: DeviceRun = {
        device,
        s,
        bus,
        blocks: planBlocks(polled, s.map),
        health: initialHealth(),
        timer: undefined,
        fire: () => this.#fire(run),
        nextPollAt: null,
        immediate: undefined,
        polling: undefined,
        committing: [],
        readFailures: 0,
        lastTs: 0,
        lastForwarded: new Map(),
        counters: new Map(),
        orderVerified: !polled.some(isMultiWord),
        log: this.#log.child({ deviceId: device.deviceId }),
      };
      this.#runs.set(device.deviceId, run);
    }
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    let i = 0;
    for (const run of this.#runs.values()) {
      if (run.blocks.length === 0) {
        // Only informational registers (no quantity): nothing to journal, so nothing to poll.
        run.log.warn('modbus device has no register mapped to a quantity; not polled');
        continue;
      }
      // A few ms apart, so a hundred devices do not all connect in the same tick.
      this.#schedule(run, (i++ % 50) * 5);
    }
    if (this.#runs.size)
      this.#log.info({ devices: this.#runs.size, buses: this.#buses.size }, 'modbus polling started');
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const run of this.#runs.values()) {
      clearTimeout(run.timer);
      clearImmediate(run.immediate);
    }
    // Closing the buses fails queued requests at once, so polls in flight finish quickly.
    await Promise.all([...this.#buses.values()].map((b) => b.close()));
    await Promise.all([...this.#runs.values()].map((r) => r.polling));
    await this.#batch.drain();
    await Promise.all([...this.#runs.values()].flatMap((r) => r.committing));
  }

  /** Health and counters of a Modbus device, for GET /api/devices; undefined for other devices. */
  report(deviceId: string): ModbusDeviceReport | undefined {
    const run = this.#runs.get(deviceId);
    if (!run) return undefined;
    const { s } = run;
    return {
      transport: s.transport,
      endpoint: s.transport === 'tcp' ? `${s.host}:${s.port}` : s.path,
      unitId: s.unitId,
      profile: s.profile ?? null,
      pollIntervalMs: s.pollIntervalMs,
      blocks: run.blocks.length,
      ...run.health,
      // Counted once per bus, not per device and request.
      counters: { ...run.health.counters, ...(this.#busEvents.get(run.bus.key) ?? NO_BUS_EVENTS) },
      nextPollAt: run.nextPollAt,
    };
  }

  #schedule(run: DeviceRun, delayMs: number): void {
    if (this.#stopped) return;
    run.nextPollAt = this.#deps.now() + delayMs;
    // A device polled back to back (its interval shorter than a poll) should not also wait for the
    // timer wheel's 1 ms minimum.
    if (delayMs <= 0) run.immediate = setImmediate(run.fire);
    else {
      run.timer = setTimeout(run.fire, delayMs);
      run.timer.unref();
    }
  }

  #fire(run: DeviceRun): void {
    run.timer = undefined;
    run.immediate = undefined;
    run.polling = this.#poll(run).finally(() => {
      run.polling = undefined;
    });
  }

  #busEvent(key: string, event: 'disconnect' | 'reconnect'): void {
    const n = this.#busEvents.get(key) ?? { disconnects: 0, reconnects: 0 };
    if (event === 'disconnect') n.disconnects++;
    else n.reconnects++;
    this.#busEvents.set(key, n);
    if (event === 'reconnect') this.#log.info({ bus: key }, 'modbus bus reconnected');
    else this.#log.warn({ bus: key }, 'modbus bus connection lost');
  }

  /**
   * One poll: read the blocks, decode, then hand the readings to the journal. The next poll is scheduled
   * as soon as the reads are done, while this poll's journal write is still in flight; a poll waits for
   * its predecessor's write before submitting its own, so a device has at most one write outstanding and
   * its health is updated in poll order, once the write is durable.
   */
  async #poll(run: DeviceRun): Promise<void> {
    const now = this.#deps.now;
    const startedAt = now();
    const outcome: PollOutcome = {
      at: startedAt,
      durationMs: 0,
      blocksOk: 0,
      blocks: run.blocks.length,
      faults: [],
      retriedFaults: [],
      registersRead: 0,
      readingsJournaled: 0,
      valuesRejected: 0,
      journalError: undefined,
    };
    let readings: Reading[] = [];
    let rejected: QuarantineEntry[] = [];
    try {
      const read: { block: Block; data: ReadData }[] = [];
      let split: Block | undefined;
      for (const block of run.blocks) {
        if (this.#stopped) return;
        let r: BlockRead;
        try {
          // The first attempt is awaited here: nearly every read succeeds, and each async call costs a
          // promise and a turn of the microtask queue per poll.
          r = { data: await run.bus.read(blockRequest(run, block)) };
        } catch (err) {
          r = await this.#retryBlock(run, block, outcome.retriedFaults, err);
        }
        if ('data' in r) {
          read.push({ block, data: r.data });
          outcome.blocksOk++;
          outcome.registersRead += block.count;
          continue;
        }
        outcome.faults.push(r);
        if (r.fault.kind === 'exception' && r.fault.code === 2 && block.registers.length > 1) split = block;
        // The device is not answering at all: the remaining blocks would only wait for their timeouts.
        if (unreachable(r.fault)) break;
      }
      if (this.#stopped) return;
      if (split) {
        // [Modbus 7, code 02] the device refuses some address in the block: read its values one by one.
        run.blocks = run.blocks.flatMap((b) => (b === split ? splitBlock(b) : [b]));
        run.log.warn(
          { fc: split.fc, address: split.address, count: split.count },
          'device refused a block read (illegal data address); reading its registers one by one',
        );
      }
      const t = now();
      // Readings of one poll share a timestamp, strictly after the previous poll's, so no two polls of a
      // device ever collide on the journal key (device, channel, ts).
      run.lastTs = Math.max(t, run.lastTs + 1);
      const order = run.orderVerified ? undefined : this.#checkOrder(run, read, t);
      if (order) {
        rejected = [order.entry];
        outcome.mapProblem = { code: 'CT_ERR_MODBUS_ORDER', message: order.entry.message };
        readings = [];
      } else {
        const polled = pollReadings(
          {
            device: run.device,
            now: t,
            ts: run.lastTs,
            maxFutureMs: this.#opts.maxFutureMs,
            retentionMs: this.#opts.retentionMs,
            lastForwarded: run.lastForwarded,
            counters: run.counters,
          },
          read,
        );
        ({ readings, rejected } = polled);
        // A counter that fell and held there: a meter reset or replaced, worth a line in the log.
        for (const register of polled.counterResets)
          run.log.info(
            { register },
            'energy counter reset: its lower value held for 3 polls and is the new base',
          );
      }
      for (const q of rejected) this.#deps.metrics.countRejected('modbus', q.deviceId, q.code);
      outcome.valuesRejected = rejected.length;
    } catch (err) {
      // A bug, not a device fault: keep polling, say so loudly.
      outcome.journalError = `poll failed: ${err instanceof Error ? err.message : String(err)}`;
      run.log.error({ err }, 'modbus poll failed');
    }
    run.readFailures = outcome.blocksOk === 0 ? run.readFailures + 1 : 0;
    // Bounded overlap: a slow journal slows the polls down instead of piling up writes.
    while (run.committing.length >= MAX_WRITES_IN_FLIGHT) await run.committing[0];
    if (this.#stopped) return;
    const commit = this.#commit(run, outcome, readings, rejected, startedAt);
    run.committing.push(commit);
    void commit.finally(() => run.committing.splice(run.committing.indexOf(commit), 1));
    // Healthy: a fixed rate from the start of this poll; failing: the backoff counts from now.
    const delay = nextDelayMs(run.readFailures, run.s, this.#random());
    const t = now();
    this.#schedule(run, Math.max(0, run.readFailures === 0 ? startedAt + delay - t : delay));
  }

  /**
   * The first polls' check of the map's byte/word order: flagged (one quarantine entry per poll, a warning
   * when it starts) while the values read plausibly only in another order; verified for good once they fit.
   */
  #checkOrder(
    run: DeviceRun,
    read: readonly { block: Block; data: ReadData }[],
    now: number,
  ): { entry: QuarantineEntry } | undefined {
    const values = read.flatMap(({ block, data }) =>
      block.registers.map((spec) => ({ spec, words: wordsOf(spec, data, block.address) })),
    );
    if (!values.some((v) => isMultiWord(v.spec))) return undefined;
    const suspicion = suspectOrder(values, declaredOrder(values.map((v) => v.spec)));
    if (!suspicion) {
      run.orderVerified = true;
      return undefined;
    }
    const { declared, likely } = suspicion;
    const message = `${run.device.deviceId}: the map's order ${declared.order} reads ${declared.plausible}/${declared.total} values plausibly, ${likely.order} reads ${likely.plausible}/${likely.total}: set order: ${likely.order} in the register map; nothing of this device is journalled meanwhile`;
    if (run.health.lastError?.code !== 'CT_ERR_MODBUS_ORDER') run.log.warn({ declared, likely }, message);
    // The multi-register values' raw words as on the wire, to check the verdict by hand.
    const payload = wireBytes(values.filter((v) => isMultiWord(v.spec)).flatMap((v) => v.words));
    return {
      entry: {
        at: now,
        source: 'modbus',
        deviceId: run.device.deviceId,
        topic: `modbus/${run.device.deviceId}`,
        code: 'CT_ERR_MODBUS_ORDER',
        message,
        payload,
      },
    };
  }

  async #commit(
    run: DeviceRun,
    outcome: PollOutcome,
    readings: Reading[],
    rejected: QuarantineEntry[],
    startedAt: number,
  ): Promise<void> {
    if (readings.length || rejected.length) {
      try {
        await this.#batch.add(readings, rejected);
        outcome.readingsJournaled = readings.length;
      } catch (err) {
        outcome.journalError = err instanceof Error ? err.message : String(err);
        // Nothing of this poll is durable: let the next values through the deadband.
        run.lastForwarded.clear();
      }
    }
    outcome.durationMs = this.#deps.now() - startedAt;
    if (!this.#stopped) this.#finish(run, outcome);
  }

  /** After a failed first attempt (`firstError`): the retries the device's settings allow. */
  async #retryBlock(run: DeviceRun, block: Block, retried: Fault[], firstError: unknown): Promise<BlockRead> {
    const { s } = run;
    let err = firstError;
    for (let attempt = 0; ; attempt++) {
      const fault = classify(err);
      if (!(attempt < s.retries && isRetriable(fault) && !this.#stopped)) {
        return { fault, detail: `FC${block.fc} ${block.address}+${block.count}: ${errorDetail(err)}` };
      }
      retried.push(fault);
      try {
        return { data: await run.bus.read(blockRequest(run, block)) };
      } catch (e) {
        err = e;
      }
    }
  }

  #finish(run: DeviceRun, outcome: PollOutcome): void {
    const prev = run.health;
    run.health = applyOutcome(prev, outcome, run.s);
    const h = run.health;
    this.metrics.pollSeconds.observe(outcome.durationMs / 1000);
    if (prev.state !== h.state) {
      const fields = { from: prev.state, to: h.state, lastError: h.lastError };
      if (h.state === 'offline' || h.state === 'degraded')
        run.log.warn(fields, 'modbus device health changed');
      else run.log.info(fields, 'modbus device health changed');
    }
  }
}
