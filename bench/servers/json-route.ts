/**
 * The webhooks benchmark's baseline: a bare fastify app whose one route only parses the JSON body (fastify's
 * own parser, same body limit) and answers 202. Prints {"event":"server:ready","ports":{"http":…}} and runs
 * until SIGTERM/SIGINT or until its stdin ends.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 });
app.post('/webhooks/lms/caliper', async (req, reply) => {
  const body = req.body as { data?: unknown[] };
  return reply.code(202).send({ accepted: Array.isArray(body?.data) ? body.data.length : 0 });
});
await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address();
const port = typeof addr === 'object' && addr ? addr.port : 0;
process.stdout.write(
  `${JSON.stringify({ event: 'server:ready', ports: { http: port }, pid: process.pid })}\n`,
);

function shutdown(): void {
  app.close().then(() => process.exit(0));
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdin.on('end', shutdown);
process.stdin.resume();
