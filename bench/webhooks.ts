/**
 * `webhooks`: learning events per second accepted and journaled by the gateway's Caliper webhook (HMAC
 * check, JSON parse, Caliper validation and mapping, pseudonymisation, group-committed SQLite journal +
 * outbox with synchronous=FULL, 202 only after commit) against a bare fastify route that only parses the
 * same JSON, under the same closed-loop load: 16 HTTP clients, each posting signed envelopes of 100
 * Caliper 1.2 events (every event id a new random UUID, as LMSs send them) as fast as the answers come back.
 *
 * Each server runs in its own child process; this process only generates load. Rounds go parse, gateway,
 * gateway, parse (ABBA) so a drift in background load hits both alike. Afterwards the gateway's
 * ct_webhook_events_total must equal the events acknowledged with 202, so the figure cannot come from
 * answers without journaled events.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { signBody } from '../gateway/ingest/webhooks/index.ts';
import { type ReadyChild, removeDir, spawnTs, tempDir } from './lib/children.ts';
import { cpuSeconds, threadCpuSeconds, threadCpuSplit } from './lib/proc.ts';
import { emit, progress, round } from './lib/report.ts';

const CLIENTS = 16;
const EVENTS_PER_ENVELOPE = 100;
const WARMUP_MS = 1_000;
const MEASURE_MS = Number(process.env.BENCH_WEBHOOKS_SECONDS ?? 5) * 1000;
const ORDER = ['parse', 'gateway', 'gateway', 'parse'] as const;
type Side = (typeof ORDER)[number];
const SECRET = 'bench-hook-secret-0123456789';
const ROUTE = '/webhooks/lms/caliper';

interface Ready {
  ports: { http: number };
}

/**
 * A Caliper 1.2 ViewEvent as the spec's example has it (~1.1 KB) with a fresh random id, one of 2,000 students
 * and 40 courses. Built from pre-split parts so the load generator spends little CPU per envelope (it
 * shares the machine with the server).
 */
const EVENT_PARTS = (() => {
  const parts: string[][] = [];
  for (let v = 0; v < 2_000; v++) {
    const student = 100_000 + v;
    const course = v % 40;
    const eventTime = new Date(Date.UTC(2026, 10, 27, 8) + v * 997).toISOString();
    parts.push([
      '{"@context":"http://purl.imsglobal.org/ctx/caliper/v1p2","id":"urn:uuid:',
      `","type":"ViewEvent","profile":"ReadingProfile","actor":{"id":"https://example.edu/users/${student}","type":"Person"},"action":"Viewed","object":{"id":"https://example.edu/etexts/${v % 500}.epub","type":"Document","name":"IMS Caliper Implementation Guide","dateCreated":"2016-08-01T06:00:00.000Z","datePublished":"2016-10-01T06:00:00.000Z","version":"1.1"},"eventTime":"${eventTime}","edApp":"https://example.edu","group":{"id":"https://example.edu/terms/201601/courses/${course}/sections/1","type":"CourseSection","courseNumber":"CPS 435-01","academicSession":"Fall 2016"},"membership":{"id":"https://example.edu/terms/201601/courses/${course}/sections/1/rosters/1","type":"Membership","member":"https://example.edu/users/${student}","organization":"https://example.edu/terms/201601/courses/${course}/sections/1","roles":["Learner"],"status":"Active","dateCreated":"2016-08-01T06:00:00.000Z"},"session":{"id":"https://example.edu/sessions/1f6442a482de72ea6ad134943812bff564a76259","type":"Session","startedAtTime":"2016-11-15T10:00:00.000Z"}}`,
    ]);
  }
  return parts;
})();

/**
 * Event ids as LMSs send them: random (version 4) UUIDs, which land all over the journal's id index.
 * `BENCH_WEBHOOKS_IDS=sequential` gives counting ids instead (the index only grows at its end): what-if only.
 */
const SEQUENTIAL_IDS = process.env.BENCH_WEBHOOKS_IDS === 'sequential';
const eventId = (n: number): string =>
  SEQUENTIAL_IDS ? `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}` : randomUUID();

function envelope(firstEvent: number): string {
  const events: string[] = [];
  for (let i = 0; i < EVENTS_PER_ENVELOPE; i++) {
    const n = firstEvent + i;
    const [head, tail] = EVENT_PARTS[n % EVENT_PARTS.length]!;
    events.push(head + eventId(n) + tail);
  }
  return `{"sensor":"https://example.edu/sensors/1","sendTime":"${new Date().toISOString()}","dataVersion":"http://purl.imsglobal.org/ctx/caliper/v1p2","data":[${events.join(',')}]}`;
}

function postOnce(agent: Agent, port: number, body: string): Promise<number> {
  const ts = Math.floor(Date.now() / 1000);
  const headers = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'x-ct-timestamp': String(ts),
    'x-ct-signature': `sha256=${signBody(Buffer.from(SECRET), ts, body)}`,
  };
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: ROUTE, method: 'POST', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface RoundResult {
  events: number;
  seconds: number;
  serverCpuSeconds: number;
  acceptedAll: number;
  errors: Record<string, number>;
  /** The server's CPU seconds in the measured window by thread (proc.ts threadCpuSplit). */
  threads: { main: number; busiestOther: number; others: number };
}

/** 16 closed-loop clients; events counted only from 202s answered inside the measured window. */
async function closedLoop(port: number, pid: number, next: () => number): Promise<RoundResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const start = performance.now();
  const measureFrom = start + WARMUP_MS;
  const measureTo = measureFrom + MEASURE_MS;
  let events = 0;
  let acceptedAll = 0;
  let cpuAtStart: number | undefined;
  let threadsAtStart = new Map<number, number>();
  const errors: Record<string, number> = {};
  const client = async () => {
    while (performance.now() < measureTo) {
      const body = envelope(next());
      const status = await postOnce(agent, port, body).catch(() => -1);
      const at = performance.now();
      if (status === 202) {
        acceptedAll += EVENTS_PER_ENVELOPE;
        if (at >= measureFrom && at < measureTo) events += EVENTS_PER_ENVELOPE;
      } else errors[String(status)] = (errors[String(status)] ?? 0) + 1;
    }
  };
  const cpuTimer = setTimeout(() => {
    cpuAtStart = cpuSeconds(pid);
    threadsAtStart = threadCpuSeconds(pid);
  }, WARMUP_MS);
  await Promise.all(Array.from({ length: CLIENTS }, client));
  clearTimeout(cpuTimer);
  const cpuEnd = cpuSeconds(pid) ?? 0;
  const threads = threadCpuSplit(pid, threadsAtStart, threadCpuSeconds(pid));
  agent.destroy();
  return {
    events,
    seconds: MEASURE_MS / 1000,
    serverCpuSeconds: cpuEnd - (cpuAtStart ?? cpuEnd),
    acceptedAll,
    errors,
    threads,
  };
}

async function journaledEvents(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = /ct_webhook_events_total\{source="caliper",result="accepted"\} (\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

export async function run(): Promise<void> {
  const dir = tempDir('ct-bench-webhooks-');
  const servers: ReadyChild<Ready>[] = [];
  try {
    progress('webhooks', 'starting the bare JSON route and the gateway (separate processes)');
    const parse = await spawnTs<Ready>(join('bench', 'servers', 'json-route.ts'), [], {
      label: 'json route server',
      isReady: (l) => l.event === 'server:ready',
    });
    servers.push(parse);
    const gw = await spawnTs<Ready>(
      join('bench', 'servers', 'webhooks-gateway.ts'),
      [join(dir, 'data'), SECRET],
      {
        label: 'webhooks gateway',
        isReady: (l) => l.event === 'gateway:ready',
      },
    );
    servers.push(gw);

    let counter = 0;
    const next = () => {
      const n = counter;
      counter += EVENTS_PER_ENVELOPE;
      return n;
    };
    const empty = () => ({
      events: 0,
      seconds: 0,
      cpu: 0,
      accepted: 0,
      rounds: [] as number[],
      threads: { main: 0, busiestOther: 0, others: 0 },
    });
    const totals: Record<Side, ReturnType<typeof empty>> = { parse: empty(), gateway: empty() };
    const errors: Record<Side, Record<string, number>> = { parse: {}, gateway: {} };
    for (const side of ORDER) {
      const server = side === 'parse' ? parse : gw;
      const r = await closedLoop(server.ready.ports.http, server.pid, next);
      const t = totals[side];
      t.events += r.events;
      t.seconds += r.seconds;
      t.cpu += r.serverCpuSeconds;
      t.accepted += r.acceptedAll;
      t.threads.main += r.threads.main;
      t.threads.busiestOther += r.threads.busiestOther;
      t.threads.others += r.threads.others;
      t.rounds.push(Math.round(r.events / r.seconds));
      for (const [k, v] of Object.entries(r.errors)) errors[side][k] = (errors[side][k] ?? 0) + v;
      progress('webhooks', `${side} round`, {
        eventsPerSecond: Math.round(r.events / r.seconds),
        serverCpuPct: Math.round((100 * r.serverCpuSeconds) / r.seconds),
      });
    }
    const journaled = await journaledEvents(gw.ready.ports.http);
    const g = totals.gateway;
    const p = totals.parse;
    const value = g.events / g.seconds;
    const baseline = p.events / p.seconds;
    emit({
      name: 'webhooks',
      value: round(value, 0),
      unit: 'events/s',
      baseline: round(baseline, 0),
      ratio: round(value / baseline),
      target: '>= 0.5',
      meaning: `Caliper events accepted (202) and journaled per second through the gateway's webhook ÷ the same load against a fastify route that only parses the JSON (envelopes of ${EVENTS_PER_ENVELOPE} events, ${CLIENTS} clients)`,
      rounds: { parse: p.rounds, gateway: g.rounds, order: ORDER.join(',') },
      envelopeBytes: Buffer.byteLength(envelope(0)),
      measureSecondsPerSide: g.seconds,
      synchronous: 'FULL',
      eventIds: SEQUENTIAL_IDS ? 'sequential' : 'random uuid',
      gatewayCpuPct: round((100 * g.cpu) / g.seconds, 0),
      // Server CPU per event, baseline ÷ gateway: the ratio without the noise of who got the cores (the
      // machine is shared; when both servers are starved the throughput ratio drifts, this one less).
      cpuPerEventRatio: round(p.cpu / (p.events || 1) / (g.cpu / (g.events || 1))),
      gatewayCpuMicrosPerEvent: round((1e6 * g.cpu) / (g.events || 1), 1),
      // Where the gateway's CPU goes: its main thread (sockets, journal), the map thread (signature,
      // parse, mapping) and the rest (V8's GC helpers, libuv's pool), per event.
      gatewayThreadsCpuMicrosPerEvent: {
        main: round((1e6 * g.threads.main) / (g.events || 1), 2),
        mapThread: round((1e6 * g.threads.busiestOther) / (g.events || 1), 2),
        others: round((1e6 * g.threads.others) / (g.events || 1), 2),
      },
      baselineCpuMicrosPerEvent: round((1e6 * p.cpu) / (p.events || 1), 1),
      baselineCpuPct: round((100 * p.cpu) / p.seconds, 0),
      journalCheck: journaled === g.accepted ? 'ok' : 'MISMATCH',
      acceptedEvents: g.accepted,
      journaledEvents: journaled,
      errors,
    });
  } finally {
    for (const s of servers.reverse()) {
      if (!s.exited()) await s.stop();
    }
    removeDir(dir);
  }
}
