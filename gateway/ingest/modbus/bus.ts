/**
 * One Modbus bus: a serial line (RTU) or a TCP connection, and the one modbus-serial client that talks on
 * it. Requests run strictly one at a time — a serial line is half-duplex and many TCP gateways in front of
 * serial buses cannot take a second request either — from a fair queue: each device has its own queue and
 * the bus serves the devices round-robin, so a device with many blocks (or one that keeps timing out)
 * cannot make its neighbours wait more than one request at a time.
 *
 * The client is created on first use and again after a disconnect; a request in flight when the
 * connection drops fails at once as `disconnect` instead of waiting for its timeout.
 */
import type { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import type { ModbusRTU as ModbusClient } from 'modbus-serial/ModbusRTU.js';
import type { Logger } from '../../../shared/logger.ts';
import { classify, errorDetail, FaultError } from './faults.ts';
import type { FunctionCode } from './registers.ts';
import type { ModbusDeviceSettings } from './settings.ts';

type ModbusRTU = ModbusClient;

/**
 * modbus-serial (and serialport's native binding under it) is loaded on first use: about 17 MB of RSS a
 * gateway without Modbus devices should not pay. A CommonJS module whose default export is the client
 * class; its typings describe an ES default export.
 */
let clientClass: Promise<typeof ModbusClient> | undefined;
function loadClientClass(): Promise<typeof ModbusClient> {
  clientClass ??= import('modbus-serial').then((m) => m.default as unknown as typeof ModbusClient);
  return clientClass;
}

/** How long an RTU line is left to go quiet after a timed-out request. */
const RTU_SETTLE_MS = 50;

export type Transport = Pick<
  ModbusDeviceSettings,
  'transport' | 'host' | 'port' | 'path' | 'baudRate' | 'parity' | 'stopBits' | 'dataBits'
>;

export interface ReadRequest {
  deviceId: string;
  unitId: number;
  fc: FunctionCode;
  address: number;
  count: number;
  timeoutMs: number;
}

/** Words for FC3/FC4, 0/1 for FC1/FC2 (only the first `count` are meaningful). */
export type ReadData = readonly number[];

/** A request's outcome, told once: its data, or an error `classify` understands. */
type ReadDone = (result: ReadData | Error) => void;

interface Job {
  req: ReadRequest;
  resolve: (data: ReadData) => void;
  reject: (err: Error) => void;
}

export interface BusHooks {
  /** The connection came back after having been up before. */
  onReconnect?: () => void;
  /** An open connection was lost. */
  onDisconnect?: () => void;
}

export class ModbusBus {
  readonly key: string;
  readonly #transport: Transport;
  readonly #hooks: BusHooks;
  readonly #log: Logger;
  readonly #queues = new Map<string, Job[]>();
  readonly #order: string[] = [];
  #cursor = -1;
  #busy = false;
  #closed = false;
  #client: ModbusRTU | undefined;
  #everConnected = false;
  #lastTimedOut = false;
  /** Rejects the request in flight when the connection drops. */
  #abortInFlight: ((err: Error) => void) | undefined;

  constructor(key: string, transport: Transport, log: Logger, hooks: BusHooks = {}) {
    this.key = key;
    this.#transport = transport;
    this.#log = log;
    this.#hooks = hooks;
  }

  get connected(): boolean {
    return this.#client?.isOpen === true;
  }

  /** Queues a read; resolves with its data or rejects with an error `classify` understands. */
  read(req: ReadRequest): Promise<ReadData> {
    if (this.#closed) return Promise.reject(new FaultError({ kind: 'disconnect' }, 'bus closed'));
    return new Promise((resolve, reject) => {
      let q = this.#queues.get(req.deviceId);
      if (!q) {
        q = [];
        this.#queues.set(req.deviceId, q);
        this.#order.push(req.deviceId);
      }
      q.push({ req, resolve, reject });
      this.#pump();
    });
  }

  /** Requests waiting (not counting the one in flight). */
  get pending(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.length;
    return n;
  }

  #nextJob(): Job | undefined {
    const n = this.#order.length;
    for (let i = 1; i <= n; i++) {
      const at = (this.#cursor + i) % n;
      const job = this.#queues.get(this.#order[at]!)?.shift();
      if (job) {
        this.#cursor = at;
        return job;
      }
    }
    return undefined;
  }

  #pump(): void {
    if (this.#busy) return;
    const job = this.#nextJob();
    if (!job) return;
    this.#busy = true;
    this.#run(job.req, (result) => {
      this.#busy = false;
      if (result instanceof Error) job.reject(result);
      else job.resolve(result);
      this.#pump();
    });
  }

  /**
   * Runs one request; `done` is called once, with its data or an error `classify` understands. The usual
   * request, on an open TCP connection, goes out in this call and answers through callbacks only: no
   * promise of a connect, and none of modbus-serial's promise API (each promise and microtask turn was a
   * measurable part of a poll's cost).
   */
  #run(req: ReadRequest, done: ReadDone): void {
    const open = this.#client;
    if (this.#closed) done(new FaultError({ kind: 'disconnect' }, 'bus closed'));
    else if (open?.isOpen && this.#transport.transport === 'tcp') this.#send(open, req, done);
    else
      this.#connectAndSend(req, done).catch((err: unknown) =>
        done(err instanceof Error ? err : new Error(String(err))),
      );
  }

  async #connectAndSend(req: ReadRequest, done: ReadDone): Promise<void> {
    const client = await this.#connect(req.timeoutMs);
    if (this.#transport.transport === 'rtu') await this.#quietLine(client);
    this.#send(client, req, done);
  }

  /** One read on `client`, settled by whichever comes first: the answer, or the connection dropping. */
  #send(client: ModbusRTU, req: ReadRequest, done: ReadDone): void {
    client.setID(req.unitId);
    client.setTimeout(req.timeoutMs);
    this.#lastTimedOut = false;
    let settled = false;
    // The first of the answer and the connection dropping (`fail`, as #abortInFlight) settles the request.
    const settle = (result: ReadData | Error) => {
      if (settled) return;
      settled = true;
      // A late settlement of an aborted request must not clear the next request's handler.
      if (this.#abortInFlight === fail) this.#abortInFlight = undefined;
      done(result);
    };
    // Classified only when it settles: a late error of an aborted request must not mark the next one timed out.
    const fail = (err: unknown) => {
      if (!settled) settle(this.#faultOf(err));
    };
    this.#abortInFlight = fail;
    const answer = (err: unknown, res: { data: readonly (number | boolean)[] } | undefined) => {
      if (err || !res) return fail(err ?? new Error('no answer'));
      const d = res.data;
      if (req.fc >= 3 && d.length === req.count) return settle(d as readonly number[]);
      // Bits come padded to whole bytes, as booleans.
      const data: number[] = new Array(req.count);
      for (let i = 0; i < req.count; i++) data[i] = Number(d[i] ?? 0);
      settle(data);
    };
    try {
      if (req.fc === 1) client.writeFC1(req.unitId, req.address, req.count, answer);
      else if (req.fc === 2) client.writeFC2(req.unitId, req.address, req.count, answer);
      else if (req.fc === 3) client.writeFC3(req.unitId, req.address, req.count, answer);
      else client.writeFC4(req.unitId, req.address, req.count, answer);
    } catch (err) {
      fail(err);
    }
  }

  #faultOf(err: unknown): FaultError {
    if (err instanceof FaultError) return err;
    const fault = classify(err);
    if (fault.kind === 'timeout') this.#lastTimedOut = true;
    // The client may reject after the socket is gone: a dropped connection, not a device fault.
    if (fault.kind === 'connect_failed' && !this.connected)
      return new FaultError({ kind: 'disconnect' }, errorDetail(err));
    return new FaultError(fault, errorDetail(err));
  }

  async #connect(timeoutMs: number): Promise<ModbusRTU> {
    const existing = this.#client;
    if (existing?.isOpen) return existing;
    if (existing) {
      // Lost without a 'close' event (modbus-serial reports a reset connection only as an error).
      this.#discard(existing);
      this.#log.debug({ bus: this.key }, 'modbus bus disconnected');
      this.#hooks.onDisconnect?.();
    }
    const Client = await loadClientClass();
    const client = new Client();
    // modbus-serial emits 'error' for port errors; unhandled, that would crash the gateway.
    client.on('error', (err: unknown) => this.#log.debug({ err, bus: this.key }, 'modbus port error'));
    const t = this.#transport;
    let timer: NodeJS.Timeout | undefined;
    try {
      const opening =
        t.transport === 'tcp'
          ? client.connectTCP(t.host, { port: t.port })
          : client.connectRTUBuffered(t.path, {
              baudRate: t.baudRate,
              parity: t.parity,
              stopBits: t.stopBits,
              dataBits: t.dataBits,
            });
      // A TCP connect to a host that drops SYNs would hang for minutes; the request timeout bounds it.
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new FaultError({ kind: 'connect_failed' }, `no connection within ${timeoutMs} ms`)),
          Math.max(timeoutMs, 200),
        );
      });
      await Promise.race([opening, timeout]);
    } catch (err) {
      this.#discard(client);
      if (err instanceof FaultError) throw err;
      throw new FaultError({ kind: 'connect_failed' }, errorDetail(err));
    } finally {
      clearTimeout(timer);
    }
    if (this.#closed) {
      this.#discard(client);
      throw new FaultError({ kind: 'disconnect' }, 'bus closed');
    }
    client.on('close', () => this.#onClose(client));
    // modbus-serial emits no 'close' when the TCP connection was reset (it sees an 'error' first); the
    // socket itself always closes, so a request in flight fails at once instead of waiting for its timeout.
    const socket = (client as unknown as { _port?: { _client?: unknown } })._port?._client;
    if (socket instanceof Socket) socket.once('close', () => this.#onClose(client));
    this.#client = client;
    if (this.#everConnected) this.#hooks.onReconnect?.();
    this.#everConnected = true;
    this.#log.debug({ bus: this.key }, 'modbus bus connected');
    return client;
  }

  /**
   * RTU frames carry no transaction id: a late answer to a timed-out request would be taken for the answer
   * to the next one (modbus-serial's buffered RTU port keeps unread bytes). After a timeout, give the line
   * a moment to go quiet, then drop whatever arrived; bytes present before a request are stale anyway.
   */
  async #quietLine(client: ModbusRTU): Promise<void> {
    if (this.#lastTimedOut) {
      this.#lastTimedOut = false;
      await new Promise((r) => setTimeout(r, RTU_SETTLE_MS));
    }
    const port = (client as unknown as { _port?: { _buffer?: Buffer } })._port;
    if (port && Buffer.isBuffer(port._buffer) && port._buffer.length) port._buffer = Buffer.alloc(0);
  }

  #onClose(client: ModbusRTU): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#log.debug({ bus: this.key }, 'modbus bus disconnected');
    this.#hooks.onDisconnect?.();
    this.#abortInFlight?.(new FaultError({ kind: 'disconnect' }, 'connection closed by peer'));
  }

  #discard(client: ModbusRTU): void {
    if (this.#client === client) this.#client = undefined;
    try {
      (client as unknown as EventEmitter).removeAllListeners('close');
      // destroy() also cancels pending transaction timers; close() alone would leave them to fire.
      client.destroy(() => {});
    } catch {
      // a port that never opened has nothing to destroy
    }
    client.on('error', () => {});
  }

  /** Fails every queued request and closes the connection. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const q of this.#queues.values()) {
      for (const job of q.splice(0)) job.reject(new FaultError({ kind: 'disconnect' }, 'bus closed'));
    }
    this.#abortInFlight?.(new FaultError({ kind: 'disconnect' }, 'bus closed'));
    const client = this.#client;
    if (!client) return;
    this.#client = undefined;
    (client as unknown as EventEmitter).removeAllListeners('close');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 500);
      try {
        client.close(() => {
          clearTimeout(timer);
          resolve();
        });
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
    this.#discard(client);
  }
}
