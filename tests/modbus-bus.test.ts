/**
 * The bus against modbus-serial's ServerTCP: one request at a time on a shared connection, devices served
 * round-robin however many requests each has queued.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startServerTcp, tcpBus } from './helpers/modbus.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('Modbus bus', () => {
  it('sends one request at a time and serves the devices round-robin', async () => {
    const seen: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const srv = await startServerTcp({
      getMultipleInputRegisters: (
        addr: number,
        len: number,
        unit: number,
        cb: (err: Error | null, v: number[]) => void,
      ) => {
        seen.push(unit);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        setTimeout(() => {
          inFlight--;
          cb(
            null,
            Array.from({ length: len }, (_, i) => unit * 100 + addr + i),
          );
        }, 5);
      },
    });
    cleanups.push(() => srv.stop());
    const bus = tcpBus(srv.port);
    cleanups.push(() => bus.close());
    const read = (deviceId: string, unitId: number, address: number) =>
      bus.read({ deviceId, unitId, fc: 4, address, count: 2, timeoutMs: 1000 });
    // Device a queues six requests before b and c queue two each: b and c must not wait behind all of a's.
    const all = [
      ...[0, 2, 4, 6, 8, 10].map((addr) => read('a', 1, addr)),
      ...[0, 2].map((addr) => read('b', 2, addr)),
      ...[0, 2].map((addr) => read('c', 3, addr)),
    ];
    const results = await Promise.all(all);
    expect(maxInFlight).toBe(1);
    expect(seen).toEqual([1, 2, 3, 1, 2, 3, 1, 1, 1, 1]);
    expect(results[1]).toEqual([102, 103]);
    expect(results[6]).toEqual([200, 201]);
  });

  it('fails queued requests when closed', async () => {
    // A device that never answers: the first request stays in flight, the second waits in the queue.
    const srv = await startServerTcp({
      getMultipleInputRegisters: (
        _a: number,
        _l: number,
        _u: number,
        _cb: (err: Error | null, v: number[]) => void,
      ) => {},
    });
    cleanups.push(() => srv.stop());
    const bus = tcpBus(srv.port);
    const settle = (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (e: unknown) => e,
      );
    const a = settle(bus.read({ deviceId: 'a', unitId: 1, fc: 4, address: 0, count: 2, timeoutMs: 10_000 }));
    const b = settle(bus.read({ deviceId: 'b', unitId: 2, fc: 4, address: 0, count: 2, timeoutMs: 10_000 }));
    await new Promise((r) => setTimeout(r, 100));
    expect(bus.pending).toBe(1);
    const t0 = Date.now();
    await bus.close();
    expect(await a).toMatchObject({ ctFault: { kind: 'disconnect' } });
    expect(await b).toMatchObject({ ctFault: { kind: 'disconnect' } });
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
