/**
 * Modbus faults against modbus-serial's ServerTCP, one shared connection (bus) per test: every exception
 * code, a refused block split into single reads, a device that never answers (timeouts, retries, backoff)
 * while its neighbours keep their poll rate, and a dropped connection that comes back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ModbusPoller } from '../gateway/ingest/modbus/index.ts';
import { GatewayMetrics } from '../gateway/metrics.ts';
import type { Reading } from '../shared/events.ts';
import { createLogger } from '../shared/logger.ts';
import { startTestGateway, waitFor } from './helpers/gateway.ts';
import { exception, f32Words, modbusCampus, modbusReports, startServerTcp } from './helpers/modbus.ts';

type Cb = (err: Error | null, v: number[]) => void;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const POWER = [{ name: 'power', ref: 30001, type: 'float32', quantity: 'power' }];

describe('Modbus faults', () => {
  it('counts each exception code per device, backs off, and reads a refused block value by value', async () => {
    const codes: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 10: 10, 11: 11 };
    const good = f32Words(2.5);
    const serve = (addr: number, len: number, unit: number, cb: Cb) => {
      const code = codes[unit];
      if (code !== undefined) return cb(exception(code), []);
      // Unit 20 has a value at 0-1 only: a block reaching into 2-3 is refused with 02.
      if (unit === 20 && addr + len > 2) return cb(exception(2), []);
      cb(null, [...good, ...good].slice(0, len));
    };
    const srv = await startServerTcp({
      getMultipleInputRegisters: serve,
      getInputRegister: (addr: number, unit: number, cb: (err: Error | null, v: number) => void) =>
        serve(addr, 1, unit, (e, v) => cb(e, v[0] ?? 0)),
    });
    cleanups.push(() => srv.stop());
    const common = {
      host: '127.0.0.1',
      port: srv.port,
      pollIntervalMs: 100,
      backoffBaseMs: 100,
      backoffMaxMs: 400,
      timeoutMs: 500,
    };
    const exDevices = Object.keys(codes).map((u) => ({
      id: `ex-${Number(u).toString(16).padStart(2, '0').toUpperCase()}`,
      modbus: { ...common, unitId: Number(u), registers: POWER },
    }));
    const gw = await startTestGateway(
      {},
      {
        campus: modbusCampus([
          ...exDevices,
          {
            id: 'split-1',
            modbus: {
              ...common,
              unitId: 20,
              registers: [...POWER, { name: 'energy', ref: 30003, type: 'float32', quantity: 'energy' }],
            },
          },
        ]),
      },
    );
    cleanups.push(() => gw.stop());
    const r = await waitFor(
      async () => {
        const m = await modbusReports(gw);
        return [...m.values()].every((d) => d.counters.polls >= 3) ? m : undefined;
      },
      15_000,
      'three polls each',
    );
    for (const d of exDevices) {
      const label = `exception_${d.id.slice(3)}`;
      const rep = r.get(d.id)!;
      expect(rep.counters.faults[label], d.id).toBeGreaterThanOrEqual(3);
      expect(Object.keys(rep.counters.faults), d.id).toEqual([label]);
      expect(rep.lastError, d.id).toMatchObject({ fault: label, code: 'CT_ERR_MODBUS_EXCEPTION' });
      expect(rep.state, d.id).toBe('offline');
      expect(rep.counters.ok).toBe(0);
      // Backoff: a failing device is polled later than its interval.
      expect(rep.nextPollAt! - (rep.lastPollAt! + rep.lastPollMs!)).toBeGreaterThanOrEqual(90);
    }
    expect(r.get('ex-01')!.lastError!.message).toMatch(/illegal function/);
    expect(r.get('ex-02')!.lastError!.message).toMatch(/illegal data address/);
    expect(r.get('ex-03')!.lastError!.message).toMatch(/illegal data value/);
    expect(r.get('ex-04')!.lastError!.message).toMatch(/device failure/);
    expect(r.get('ex-0A')!.lastError!.message).toMatch(/gateway path unavailable/);
    // 0B (gateway target did not respond) is worth one retry; 01-04 are definite answers.
    expect(r.get('ex-0B')!.counters.retries).toBeGreaterThanOrEqual(3);
    expect(r.get('ex-02')!.counters.retries).toBe(0);

    // The refused block was split: power (0-1) still arrives, energy (2-3) is counted as exception 02.
    const split = r.get('split-1')!;
    expect(split.blocks).toBe(2);
    expect(split.state).toBe('degraded');
    expect(split.consecutiveFailures).toBe(0);
    expect(split.counters.partial).toBeGreaterThanOrEqual(2);
    const rows = [...gw.gw.pipeline.store.rowsSince(0)].filter((x) => x.deviceId === 'split-1');
    expect(new Set(rows.map((x) => x.channel))).toEqual(new Set(['power']));

    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    for (const d of exDevices) {
      expect(metrics).toMatch(
        new RegExp(`ct_modbus_faults_total\\{device="${d.id}",fault="exception_${d.id.slice(3)}"\\} \\d`),
      );
      expect(metrics).toMatch(new RegExp(`ct_modbus_device_up\\{device="${d.id}"\\} 0`));
    }
    expect(metrics).toMatch(/ct_modbus_polls_total\{device="ex-04",result="failed"\} [3-9]/);
  });

  it('a silent device times out, retries and backs off while its neighbours on the bus keep their rate', async () => {
    const value = f32Words(1.25);
    const srv = await startServerTcp({
      getMultipleInputRegisters: (_addr: number, len: number, unit: number, cb: Cb) => {
        if (unit === 3) return; // never answers
        cb(null, value.slice(0, len));
      },
    });
    cleanups.push(() => srv.stop());
    const base = { host: '127.0.0.1', port: srv.port, pollIntervalMs: 100, registers: POWER };
    const gw = await startTestGateway(
      {},
      {
        campus: modbusCampus([
          { id: 'ok-1', modbus: { ...base, unitId: 1 } },
          { id: 'ok-2', modbus: { ...base, unitId: 2 } },
          {
            id: 'slow-3',
            modbus: { ...base, unitId: 3, timeoutMs: 150, retries: 1, backoffBaseMs: 200, backoffMaxMs: 800 },
          },
        ]),
      },
    );
    cleanups.push(() => gw.stop());
    await waitFor(
      async () => ((await modbusReports(gw)).get('ok-1')?.counters.ok ?? 0) >= 1,
      5000,
      'first poll',
    );
    const before = await modbusReports(gw);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    const after = await modbusReports(gw);
    const seconds = (Date.now() - t0) / 1000;
    for (const id of ['ok-1', 'ok-2']) {
      const rate = (after.get(id)!.counters.ok - before.get(id)!.counters.ok) / seconds;
      // Nominal 10 polls/s; the silent neighbour holds the bus 150 ms at a time, at most.
      expect(rate, id).toBeGreaterThanOrEqual(7);
      expect(after.get(id)!.state).toBe('online');
      expect(after.get(id)!.counters.failed).toBe(0);
    }
    const slow = after.get('slow-3')!;
    expect(slow.state).toBe('offline');
    expect(slow.consecutiveFailures).toBeGreaterThanOrEqual(3);
    expect(slow.counters.faults.timeout).toBeGreaterThanOrEqual(2 * slow.counters.failed - 1);
    expect(slow.counters.retries).toBeGreaterThanOrEqual(slow.counters.failed - 1);
    expect(slow.lastError).toMatchObject({ fault: 'timeout', code: 'CT_ERR_MODBUS_TIMEOUT' });
    // Backed off: far fewer polls than its neighbours, the gap now at the 800 ms cap (±10 %).
    expect(slow.counters.polls).toBeLessThanOrEqual(8);
    expect(slow.nextPollAt! - (slow.lastPollAt! + slow.lastPollMs!)).toBeGreaterThanOrEqual(700);
  });

  it('a dropped connection makes the device offline; when the server returns it reconnects and is online again', async () => {
    const handler = { getMultipleInputRegisters: (_a: number, len: number) => f32Words(3.5).slice(0, len) };
    let srv = await startServerTcp(handler);
    const port = srv.port;
    cleanups.push(() => srv.stop());
    const gw = await startTestGateway(
      {},
      {
        campus: modbusCampus([
          {
            id: 'up-1',
            modbus: {
              host: '127.0.0.1',
              port,
              pollIntervalMs: 100,
              timeoutMs: 300,
              backoffBaseMs: 100,
              backoffMaxMs: 300,
              registers: POWER,
            },
          },
        ]),
      },
    );
    cleanups.push(() => gw.stop());
    await waitFor(async () => ((await modbusReports(gw)).get('up-1')?.counters.ok ?? 0) >= 2, 5000, 'polls');
    await srv.stop();
    const down = await waitFor(
      async () => {
        const d = (await modbusReports(gw)).get('up-1')!;
        return d.state === 'offline' ? d : undefined;
      },
      10_000,
      'offline',
    );
    expect(down.counters.disconnects).toBeGreaterThanOrEqual(1);
    expect(down.lastError).toMatchObject({ fault: 'connect_failed', code: 'CT_ERR_MODBUS_UNREACHABLE' });
    const okBefore = down.counters.ok;

    srv = await startServerTcp(handler, port);
    const up = await waitFor(
      async () => {
        const d = (await modbusReports(gw)).get('up-1')!;
        return d.state === 'online' && d.counters.ok > okBefore ? d : undefined;
      },
      10_000,
      'online again',
    );
    expect(up.counters.reconnects).toBeGreaterThanOrEqual(1);
    expect(up.consecutiveFailures).toBe(0);
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(metrics).toContain(
      `ct_modbus_connection_events_total{bus="tcp://127.0.0.1:${port}",event="reconnect"} 1`,
    );
    expect(metrics).toMatch(/ct_modbus_device_up\{device="up-1"\} 1/);
  });

  it('a connection dropped while a request is in flight fails that request at once as a disconnect', async () => {
    let pending = 0;
    const srv = await startServerTcp({
      getMultipleInputRegisters: (_a: number, len: number, _u: number, cb: Cb) => {
        pending++;
        setTimeout(() => cb(null, f32Words(1).slice(0, len)), 400); // slow, but well inside the timeout
      },
    });
    cleanups.push(() => srv.stop());
    const gw = await startTestGateway(
      {},
      {
        campus: modbusCampus([
          {
            id: 'drop-1',
            modbus: {
              host: '127.0.0.1',
              port: srv.port,
              pollIntervalMs: 100,
              timeoutMs: 5000,
              retries: 0,
              registers: POWER,
            },
          },
        ]),
      },
    );
    cleanups.push(() => gw.stop());
    await waitFor(() => pending >= 1, 5000, 'a request in flight');
    const dropped = Date.now();
    await srv.stop();
    const d = await waitFor(
      async () => {
        const r = (await modbusReports(gw)).get('drop-1')!;
        return r.counters.faults.disconnect ? r : undefined;
      },
      4000,
      'disconnect fault',
    );
    expect(Date.now() - dropped).toBeLessThan(4000); // not the 5 s timeout
    expect(d.counters.faults.timeout).toBeUndefined();
    expect(d.counters.disconnects).toBeGreaterThanOrEqual(1);
  });

  it('a poll counts as a success only once its readings are journaled', async () => {
    const srv = await startServerTcp({
      getMultipleInputRegisters: (_a: number, len: number) => f32Words(4.5).slice(0, len),
    });
    cleanups.push(() => srv.stop());
    let failing = true;
    const journaled: Reading[] = [];
    const pipeline = {
      submitAsync: async (readings: readonly Reading[]) => {
        if (failing) throw new Error('SQLITE_FULL: database or disk is full');
        journaled.push(...readings);
      },
    };
    const poller = new ModbusPoller(
      { maxFutureMs: 300_000, retentionMs: 3600_000, batchWindowMs: 1 },
      {
        campus: modbusCampus([
          { id: 'j-1', modbus: { host: '127.0.0.1', port: srv.port, pollIntervalMs: 50, registers: POWER } },
        ]),
        pipeline,
        metrics: new GatewayMetrics(),
        logger: createLogger({ level: 'silent' }),
        now: Date.now,
      },
    );
    poller.start();
    cleanups.push(() => poller.stop());
    const failed = await waitFor(
      () => {
        const r = poller.report('j-1')!;
        return r.counters.failed >= 2 ? r : undefined;
      },
      5000,
      'failed polls',
    );
    expect(failed.counters.ok).toBe(0);
    expect(failed.counters.readingsJournaled).toBe(0);
    expect(failed.lastError).toMatchObject({ fault: 'journal', message: /SQLITE_FULL/ });
    expect(failed.lastSuccessAt).toBeNull();
    failing = false;
    const ok = await waitFor(
      () => {
        const r = poller.report('j-1')!;
        return r.counters.ok >= 2 ? r : undefined;
      },
      5000,
      'good polls',
    );
    expect(ok.state).toBe('online');
    expect(ok.counters.readingsJournaled).toBe(journaled.length);
    expect(journaled.every((r) => r.value === 4.5 && r.channel === 'power')).toBe(true);
  });
});
