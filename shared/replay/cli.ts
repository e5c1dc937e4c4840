/** `campus-twin replay FILE`: readings from a CSV or JSONL file through a gateway's MQTT ingest. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { mqttRefusals, replayOverMqtt } from './mqtt.ts';
import { parseCsv, parseJsonl } from './parse.ts';
import { parseEventLines, replayOverWebhook } from './webhooks.ts';

const HELP = `Usage: campus-twin replay FILE [options]
       campus-twin replay EVENTS.jsonl --webhook URL --secret-env NAME [--batch N]

Publishes the readings of FILE through a gateway's real MQTT ingest (QoS 1, one connection per device),
with a progress bar and a summary: sent, acknowledged, refused by code. With --webhook, FILE holds
learning events instead (one xAPI statement or Caliper event a line) and they are posted, signed, to the
gateway's webhook (e.g. http://localhost:8080/webhooks/lms/xapi) in batches; the summary counts what the
gateway answered: accepted, duplicates, ignored, refused by code.

FILE: .jsonl — {"deviceId": "env-1", "ts": "2015-02-04T17:51:00Z", "readings": {"co2": 721.25}} a line;
      .csv/.txt — a time column (ts, time, timestamp or date) and one column per channel, for --device.
      The UCI occupancy files replay as they are:
        campus-twin replay datatest.txt --device env-1 --columns temperature,humidity,light,co2

Options:
      --mqtt URL              broker (default mqtt://localhost:1883)
      --device ID             the device of a CSV file (or of JSONL lines without deviceId)
      --columns A,B           CSV: only these columns, as channels
      --format csv|jsonl      default: from the file name
      --password-template T   device password, {id} replaced by the device id (default: none, for a
                              dev-mode gateway); the sample campus's is "sample-{id}"
      --speed max|N           as fast as acknowledged (default), or N × real time by the rows' own times
      --live                  move the first row to now and publish to devices/{id}/telemetry; without it
                              the rows keep their times and go to devices/{id}/backfill (any age)
      --gateway-http URL      the gateway's HTTP base (e.g. http://localhost:8080): refusals counted by code
                              from its /metrics
      --in-flight N           unacknowledged publishes at most (default 100)
Webhook replay:
      --webhook URL           the gateway's webhook for the events (…/webhooks/lms/xapi, …/caliper or
                              …/webhooks/admin)
      --source S              xapi, caliper or admin (default: from the URL's last part, else xapi)
      --secret-env NAME       the HMAC secret, from this environment variable (not on the command line)
      --bearer-env NAME       a bearer token instead, from this environment variable
      --batch N               events per request (default 100)
  -h, --help                  show this help
`;

/** On stderr (stdout carries the summary); without a terminal, a line every 5 s and at the end. */
function progressBar(what: string): SingleBar {
  return new SingleBar({
    format: `replay [{bar}] {percentage}% | {value}/{total} ${what} | {eta_formatted} left`,
    stream: process.stderr,
    noTTYOutput: true,
    notTTYSchedule: 5000,
    hideCursor: true,
  });
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      mqtt: { type: 'string', default: 'mqtt://localhost:1883' },
      device: { type: 'string' },
      columns: { type: 'string' },
      format: { type: 'string' },
      'password-template': { type: 'string' },
      speed: { type: 'string', default: 'max' },
      live: { type: 'boolean' },
      'gateway-http': { type: 'string' },
      'in-flight': { type: 'string', default: '100' },
      webhook: { type: 'string' },
      source: { type: 'string' },
      'secret-env': { type: 'string' },
      'bearer-env': { type: 'string' },
      batch: { type: 'string', default: '100' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length !== 1) {
    (values.help ? process.stdout : process.stderr).write(HELP);
    return values.help ? 0 : 2;
  }
  const file = positionals[0]!;
  if (values.webhook) return replayWebhook(file, values);
  const format = values.format ?? (file.endsWith('.jsonl') || file.endsWith('.ndjson') ? 'jsonl' : 'csv');
  const speed = values.speed === 'max' ? 0 : Number(values.speed);
  if (!(speed >= 0) || !Number.isFinite(speed)) {
    process.stderr.write(`--speed must be "max" or a positive number, not ${values.speed}\n`);
    return 2;
  }
  const opts = {
    ...(values.device ? { device: values.device } : {}),
    ...(values.columns ? { columns: values.columns.split(',').map((c) => c.trim()) } : {}),
  };
  const text = readFileSync(file, 'utf8');
  const rows = format === 'jsonl' ? parseJsonl(text, opts) : parseCsv(text, opts);
  if (rows.length === 0) {
    process.stderr.write(`${file}: no rows\n`);
    return 1;
  }
  const template = values['password-template'];
  const metricsUrl = values['gateway-http']
    ? `${values['gateway-http'].replace(/\/$/, '')}/metrics`
    : undefined;
  const before = metricsUrl ? await mqttRefusals(metricsUrl) : undefined;
  const firstTs = Math.min(...rows.map((r) => r.ts));
  const bar = progressBar('acknowledged');
  bar.start(rows.length, 0);
  // The bar's timer would keep the process alive after a failure: stopped whatever happens.
  const result = await replayOverMqtt(rows, {
    mqttUrl: values.mqtt,
    password: (id) => (template ? template.replaceAll('{id}', id) : undefined),
    topic: values.live ? 'telemetry' : 'backfill',
    speed,
    shiftMs: values.live ? Date.now() - firstTs : 0,
    maxInFlight: Math.max(1, Number(values['in-flight']) || 100),
    onProgress: (n) => bar.update(n),
  }).finally(() => bar.stop());
  const summary: Record<string, unknown> = {
    file,
    rows: rows.length,
    devices: new Set(rows.map((r) => r.deviceId)).size,
    sent: result.sent,
    acknowledged: result.acknowledged,
    failed: result.failed,
    seconds: Math.round(result.seconds * 10) / 10,
    perSecond: Math.round(result.acknowledged / Math.max(result.seconds, 0.001)),
    topic: values.live ? 'telemetry' : 'backfill',
  };
  if (metricsUrl && before) {
    const after = await mqttRefusals(metricsUrl);
    const refused: Record<string, number> = {};
    for (const [code, n] of Object.entries(after))
      if (n - (before[code] ?? 0) > 0) refused[code] = n - (before[code] ?? 0);
    // The gateway's own counters: readings (or whole payloads) it refused while acknowledging them.
    summary.refusedByCode = refused;
  }
  if (result.failures.length) summary.failures = result.failures;
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return result.failed > 0 ? 1 : 0;
}

async function replayWebhook(
  file: string,
  values: { webhook?: string; source?: string; 'secret-env'?: string; 'bearer-env'?: string; batch: string },
): Promise<number> {
  const url = values.webhook!;
  const tail = url.replace(/\/$/, '').split('/').at(-1);
  const source = values.source ?? (tail === 'caliper' || tail === 'admin' ? tail : 'xapi');
  if (source !== 'xapi' && source !== 'caliper' && source !== 'admin') {
    process.stderr.write(`--source must be xapi, caliper or admin, not ${source}\n`);
    return 2;
  }
  const fromEnv = (name: string | undefined) => {
    if (!name) return undefined;
    const v = process.env[name];
    if (!v) throw new Error(`environment variable ${name} is not set`);
    return v;
  };
  const secret = fromEnv(values['secret-env']);
  const bearer = fromEnv(values['bearer-env']);
  const events = parseEventLines(readFileSync(file, 'utf8'));
  const bar = progressBar('events answered');
  bar.start(events.length, 0);
  const r = await replayOverWebhook(events, {
    url,
    source,
    ...(secret ? { secret } : {}),
    ...(bearer ? { bearer } : {}),
    batch: Math.max(1, Number(values.batch) || 100),
    concurrency: 4,
    onProgress: (n) => bar.update(n),
  }).finally(() => bar.stop());
  const { refusals, ...summary } = r;
  process.stdout.write(
    `${JSON.stringify({ file, source, ...summary, seconds: Math.round(r.seconds * 10) / 10, ...(refusals.length ? { refusals } : {}) })}\n`,
  );
  return Object.keys(r.refusedByCode).length > 0 ? 1 : 0;
}
