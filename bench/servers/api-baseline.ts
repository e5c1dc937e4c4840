/**
 * The api benchmark's baseline server: a bare fastify app with
 *   - `GET /`: fastify's hello world (`{hello:'world'}`), the baseline of the JSON read routes;
 *   - `GET /csv`: the CSV in CSV_FILE (the cloud's own snapshot body, fetched once by the benchmark: same
 *     bytes, same size), read into memory at start and cut where the cloud's route cuts it (the header, then
 *     pages of 2,000 rows), streamed with `Readable.from` like the cloud's route: what serving that CSV
 *     costs without the store reads and the CSV formatting.
 * Prints {"event":"server:ready","ports":{"http":…}} and runs until SIGTERM/SIGINT or until its stdin ends.
 *
 * Usage: api-baseline.ts CSV_FILE
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import Fastify from 'fastify';
import { stopOnSignalOrStdinEnd } from '../lib/serve.ts';

const PAGE_ROWS = 2000;
const [csvFile] = process.argv.slice(2);
if (!csvFile) {
  process.stderr.write('usage: api-baseline.ts CSV_FILE\n');
  process.exit(2);
}
const lines = readFileSync(csvFile, 'utf8').split('\n');
if (lines.at(-1) === '') lines.pop();
const chunks = [`${lines[0]}\n`];
for (let i = 1; i < lines.length; i += PAGE_ROWS)
  chunks.push(`${lines.slice(i, i + PAGE_ROWS).join('\n')}\n`);

const app = Fastify({ logger: false, forceCloseConnections: true });
app.get('/', async () => ({ hello: 'world' }));
app.get('/csv', async (_req, reply) => {
  reply.type('text/csv; charset=utf-8');
  return reply.send(Readable.from(chunks));
});
await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address();
const port = typeof addr === 'object' && addr ? addr.port : 0;
process.stdout.write(
  `${JSON.stringify({ event: 'server:ready', ports: { http: port }, pid: process.pid, chunks: chunks.length })}\n`,
);

stopOnSignalOrStdinEnd('api-baseline', () => app.close());
