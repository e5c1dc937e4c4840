/** Small socket helpers. */
import { once } from 'node:events';
import { createServer } from 'node:net';

/**
 * A port free on 127.0.0.1 a moment ago, for servers that cannot listen on port 0 and say which port they
 * got (modbus-serial's ServerTCP reads 0 as "the default, 502").
 */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise((r) => srv.close(r));
  return port;
}
