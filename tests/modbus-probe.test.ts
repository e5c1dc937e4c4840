/**
 * The commissioning probe against a real pymodbus server serving values in each byte/word order:
 * `modbus probe --fc/--address` must show the right decoding (and only it) as plausible, `--map` must
 * print each value with its unit, and the real `campus-twin` CLI must route `modbus probe` to it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../gateway/ingest/modbus/cli.ts';
import { type PyServer, startPymodbus } from './helpers/modbus.ts';
import { CLI, REPO_ROOT } from './helpers/process.ts';

const ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;
let py: PyServer;

beforeAll(async () => {
  py = await startPymodbus(
    {
      points: [
        ...ORDERS.map((order, i) => ({
          table: 'ir' as const,
          address: i * 2,
          type: 'float32',
          value: 230.1,
          order,
        })),
        ...ORDERS.map((order, i) => ({
          table: 'hr' as const,
          address: 100 + i * 4,
          type: 'float64',
          value: -1234.5678,
          order,
        })),
        ...ORDERS.map((order, i) => ({
          table: 'hr' as const,
          address: 200 + i * 2,
          type: 'int32',
          value: -123456,
          order,
        })),
        { table: 'hr', address: 300, type: 'string', value: 'SDM120' },
      ],
    },
    { tcp: true },
  );
});
afterAll(async () => {
  await py?.stop();
});

async function probe(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const sink = { write: (s: string) => (out += s) };
  const code = await run(['probe', '--host', '127.0.0.1', '--port', String(py.port), ...args], sink, sink);
  return { code, out };
}

function lines(out: string, type: string): string[] {
  return out.split('\n').filter((l) => l.startsWith(`${type} `));
}

describe('modbus probe', () => {
  it('prints float32 230.1 served in each order, with only the right decoding marked plausible', async () => {
    for (const [i, order] of ORDERS.entries()) {
      const { code, out } = await probe(['--fc', '4', '--address', String(i * 2), '--count', '2']);
      expect(code).toBe(0);
      expect(out).toContain(`FC4 address ${i * 2} count 2`);
      const f32 = lines(out, 'float32');
      expect(f32).toHaveLength(4);
      expect(f32.filter((l) => l.endsWith('plausible'))).toEqual([
        expect.stringMatching(new RegExp(`^float32 +${order} +230\\.10000610351562 +plausible$`)),
      ]);
    }
  });

  it('prints float64 and int32 in every order, and reads reference notation', async () => {
    for (const [i, order] of ORDERS.entries()) {
      const { out } = await probe(['--fc', '3', '--address', String(100 + i * 4), '--count', '4']);
      expect(out).toMatch(new RegExp(`^float64 +${order} +-1234\\.5678 +plausible$`, 'm'));
      const int = await probe(['--ref', String(40001 + 200 + i * 2), '--count', '2']);
      expect(int.out).toContain(`FC3 address ${200 + i * 2} count 2`);
      expect(int.out).toMatch(new RegExp(`^int32 +${order} +-123456 +plausible$`, 'm'));
    }
    const s = await probe(['--fc', '3', '--address', '300', '--count', '3']);
    expect(s.out).toMatch(/^string +- +"SDM120"$/m);
  });

  it('--map reads a register map and prints each decoded value with its unit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ct-probe-'));
    try {
      const file = join(dir, 'map.yaml');
      writeFileSync(
        file,
        [
          'registers:',
          '  - { name: volts_abcd, ref: 30001, type: float32, unit: V }',
          '  - { name: volts_cdab, fc: 4, address: 2, type: float32, order: CDAB, unit: V }',
          '  - { name: wrong_order, fc: 4, address: 4, type: float32, order: ABCD, unit: V }',
          '  - { name: kilo, fc: 4, address: 6, type: float32, order: DCBA, scale: 0.001, unit: kV }',
          '  - { name: model, fc: 3, address: 300, type: string, length: 3 }',
          '  - { name: missing, fc: 3, address: 9000, type: uint16 }',
        ].join('\n'),
      );
      const { code, out } = await probe(['--map', file]);
      expect(code).toBe(0);
      expect(out).toMatch(/^volts_abcd +230\.10000610351562 V +\(FC4 0, float32 ABCD\)$/m);
      expect(out).toMatch(/^volts_cdab +230\.10000610351562 V /m);
      expect(out).toMatch(/^wrong_order .*REJECTED CT_ERR_IMPLAUSIBLE/m);
      expect(out).toMatch(/^kilo +0\.2301000061035156\d* kV /m);
      expect(out).toMatch(/^model +"SDM120" /m);
      expect(out).toMatch(/^missing +ERROR exception 02 \(illegal data address\)/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ranks the byte/word orders of a whole map and names the right one (SDM120 served in a wrong order)', async () => {
    // The SDM120's input registers with plausible readings, as pymodbus serves them in `order`.
    const values: [number, number][] = [
      [0, 230.1],
      [6, 5.2],
      [12, 1196.5],
      [18, 1220],
      [24, 240],
      [30, 0.98],
      [36, 11.3],
      [70, 50.02],
      [72, 1234.5],
      [74, 7.5],
      [76, 321.5],
      [78, 2.5],
      [84, 900],
      [86, 2500],
      [88, 900],
      [90, 2500],
      [258, 4.1],
      [264, 12.5],
      [342, 1242],
      [344, 324],
    ];
    const serve = (order: (typeof ORDERS)[number]) =>
      startPymodbus(
        {
          points: values.map(([address, value]) => ({
            table: 'ir' as const,
            address,
            type: 'float32',
            value,
            order,
          })),
        },
        { tcp: true },
      );
    for (const order of ['CDAB', 'ABCD'] as const) {
      const sdm = await serve(order);
      try {
        let out = '';
        const sink = { write: (t: string) => (out += t) };
        const code = await run(
          ['probe', '--host', '127.0.0.1', '--port', String(sdm.port), '--profile', 'sdm120'],
          sink,
          sink,
        );
        expect(code).toBe(0);
        const rank = out.split('\n').find((l) => l.startsWith('order '));
        expect(rank, out).toMatch(new RegExp(`^order  ${order} 20/20 plausible, likely; `));
        if (order === 'CDAB') {
          // Read as the profile's ABCD, the values are rejected, and the probe says what to fix.
          expect(out).toMatch(/^frequency .*REJECTED CT_ERR_IMPLAUSIBLE/m);
          expect(out).toContain('WARNING the map says ABCD but CDAB reads plausibly: set order: CDAB');
        } else {
          expect(out).toMatch(/^frequency +50\.0\d* Hz /m);
          expect(out).not.toContain('WARNING');
        }
      } finally {
        await sdm.stop();
      }
    }
  });

  it('is the `campus-twin modbus probe` command, and exits 1 when nothing answers', async () => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'modbus',
        'probe',
        '--host',
        '127.0.0.1',
        '--port',
        String(py.port),
        '--fc',
        '4',
        '--address',
        '2',
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(out).toMatch(/^float32 +CDAB +230\.10000610351562 +plausible$/m);

    const dead = await run(
      ['probe', '--host', '127.0.0.1', '--port', '1', '--fc', '4', '--address', '0', '--timeout', '300'],
      { write: () => 0 },
      { write: () => 0 },
    );
    expect(dead).toBe(1);
    const bad = await run(['probe', '--fc', '4'], { write: () => 0 }, { write: () => 0 });
    expect(bad).toBe(2);
  });
});
