/**
 * The ingest benchmark's baseline server: a bare aedes broker (no auth, no hooks, in-memory persistence) on
 * 127.0.0.1 port 0, in its own process. Prints {"event":"server:ready","ports":{"mqtt":N}} and runs until
 * SIGTERM/SIGINT or until its stdin ends (the benchmark process went away).
 */
import { createServer, type Socket } from 'node:net';
import { Aedes } from 'aedes';

const broker = await Aedes.createBroker();
const server = createServer(broker.handle as (socket: Socket) => void);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const addr = server.address();
const port = typeof addr === 'object' && addr ? addr.port : 0;
process.stdout.write(
  `${JSON.stringify({ event: 'server:ready', ports: { mqtt: port }, pid: process.pid })}\n`,
);

let stopping = false;
function shutdown(): void {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(0), 3000).unref();
  broker.close(() => server.close(() => process.exit(0)));
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdin.on('end', shutdown);
process.stdin.resume();
