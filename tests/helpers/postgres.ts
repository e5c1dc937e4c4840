/**
 * A throwaway PostgreSQL server for tests: `initdb` into a temp dir, `pg_ctl start` on a free loopback
 * port (its socket in the same dir), `stop()` stops it and removes the dir. PostgreSQL refuses to run as
 * root, so as root (CI) the programs run as the `postgres` user the Debian package creates. fsync is off
 * unless asked for: tests are about the store's semantics, not about the server's durability.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../shared/net.ts';
import { postgresBinDir } from '../prerequisites.mjs';

export interface TestPostgres {
  /** postgres://campus@127.0.0.1:PORT/campus */
  url: string;
  stop(): void;
}

function run(bin: string, args: readonly string[], asUser: string | undefined): void {
  const [cmd, argv] = asUser ? ['runuser', ['-u', asUser, '--', bin, ...args]] : [bin, [...args]];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0)
    throw new Error(`${bin} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout || r.error}`);
}

interface Node {
  port: number;
  stop(): void;
}

/** initdb and start one server in a fresh temp dir; `settings` are more `-c` options. */
async function startNode(binDir: string, asUser: string | undefined, settings: string): Promise<Node> {
  const dir = mkdtempSync(join(tmpdir(), 'ct-pg-'));
  // Its owner and login group (`user:`), as root.
  if (asUser) run('chown', [`${asUser}:`, dir], undefined);
  chmodSync(dir, 0o700);
  const data = join(dir, 'data');
  const port = await freePort();
  run(
    join(binDir, 'initdb'),
    ['-D', data, '-U', 'campus', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--locale=C'],
    asUser,
  );
  run(
    join(binDir, 'pg_ctl'),
    [
      '-D',
      data,
      '-l',
      join(dir, 'server.log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c synchronous_commit=off${settings}`,
      'start',
    ],
    asUser,
  );
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      run(join(binDir, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], asUser);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    run(join(binDir, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'campus', 'campus'], asUser);
  } catch (err) {
    stop();
    throw err;
  }
  return { port, stop };
}

const urlOf = (port: number) => `postgres://campus@127.0.0.1:${port}/campus`;

/**
 * `durable`: fsync and full-page writes on, as a real server runs (for benchmarks); commits still do not
 * wait for their WAL flush (synchronous_commit=off, the counterpart of the SQLite store's synchronous=NORMAL).
 * `citus` (default: the environment's CT_TEST_CITUS=1): a Citus cluster instead, a coordinator and two
 * workers on this machine, for running the PostgreSQL tests on Citus where its extension is installed
 * (deploy/citus/README.md); the URL is the coordinator's, and the store distributes its tables there.
 */
export async function startPostgres(
  opts: { durable?: boolean; citus?: boolean } = {},
): Promise<TestPostgres> {
  const binDir = postgresBinDir();
  if (!binDir) throw new Error('PostgreSQL server programs not found (see tests/prerequisites.mjs)');
  const asUser = process.getuid?.() === 0 ? 'postgres' : undefined;
  const settings = opts.durable ? '' : ' -c fsync=off -c full_page_writes=off';
  if (!(opts.citus ?? process.env.CT_TEST_CITUS === '1')) {
    const node = await startNode(binDir, asUser, settings);
    return { url: urlOf(node.port), stop: node.stop };
  }
  const citusSettings = `${settings} -c shared_preload_libraries=citus -c max_prepared_transactions=100`;
  const nodes: Node[] = [];
  const stop = () => {
    for (const n of nodes.splice(0)) n.stop();
  };
  try {
    for (let i = 0; i < 3; i++) nodes.push(await startNode(binDir, asUser, citusSettings));
    for (const n of nodes) await sql(urlOf(n.port), ['CREATE EXTENSION citus']);
    const [coordinator, ...workers] = nodes;
    await sql(urlOf(coordinator!.port), [
      `SELECT citus_set_coordinator_host('127.0.0.1', ${coordinator!.port})`,
      ...workers.map((w) => `SELECT citus_add_node('127.0.0.1', ${w.port})`),
    ]);
    return { url: urlOf(coordinator!.port), stop };
  } catch (err) {
    stop();
    throw err;
  }
}

async function sql(url: string, statements: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const s of statements) await client.query(s);
  } finally {
    await client.end();
  }
}
