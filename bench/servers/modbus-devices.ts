/**
 * The modbus benchmark's devices: N modbus-serial ServerTCP instances on 127.0.0.1, each serving input
 * registers 0..19 (ten float32 values, ABCD) that change on every read. Prints
 * {"event":"server:ready","ports":[…]} and runs until SIGTERM/SIGINT or until its stdin ends.
 * Usage: modbus-devices.ts COUNT
 */
import { ServerTCP } from 'modbus-serial';
import { freePort } from '../../tests/helpers/modbus.ts';

const count = Number(process.argv[2] ?? 100);

const servers: ServerTCP[] = [];
const ports: number[] = [];
let tick = 0;
for (let i = 0; i < count; i++) {
  const port = await freePort();
  const words = new Array<number>(20).fill(0);
  const buf = Buffer.alloc(4);
  const server = new ServerTCP(
    {
      getMultipleInputRegisters: (addr: number, len: number) => {
        tick++;
        for (let k = 0; k < 10; k++) {
          buf.writeFloatBE(230 + ((tick + k) % 100) / 10);
          words[2 * k] = buf.readUInt16BE(0);
          words[2 * k + 1] = buf.readUInt16BE(2);
        }
        return words.slice(addr, addr + len);
      },
    },
    { host: '127.0.0.1', port, unitID: 255 },
  );
  server.on('socketError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('initialized', () => resolve());
    server.once('serverError', reject);
  });
  servers.push(server);
  ports.push(port);
}
process.stdout.write(`${JSON.stringify({ event: 'server:ready', ports, pid: process.pid })}\n`);

let stopping = false;
function shutdown(): void {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(0), 2000).unref();
  let open = servers.length;
  for (const s of servers) s.close(() => --open === 0 && process.exit(0));
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdin.on('end', shutdown);
process.stdin.resume();
