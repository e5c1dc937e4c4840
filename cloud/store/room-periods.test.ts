/** assemblePeriods on hand-made rows: which rooms get a period, and what goes into each. */
import { describe, expect, it } from 'vitest';
import { assemblePeriods, type WindowRow } from './room-periods.ts';

const FROM = 10 * 3_600_000;
const TO = FROM + 3_600_000;

const window = (start: number, first: number, last: number): WindowRow => ({
  window_start: start,
  window_ms: 3_600_000,
  count: 60,
  sum: 60,
  min: 1,
  max: 1,
  first_value: first,
  last_value: last,
});

describe('assemblePeriods', () => {
  it('makes a period only for a room with something in it, one per campus of a room id', () => {
    const energy = (id: number, room: string, campus: string, rows: WindowRow[]) => ({
      sensor: { sensor_id: id, room_id: room, campus_id: campus, quantity: 'energy' as const },
      rows,
    });
    const periods = assemblePeriods(
      FROM,
      TO,
      {},
      {
        keyStates: [
          {
            roomId: 'r1',
            campusId: 'north',
            kind: 'occupancy',
            subject: '',
            state: 'occupied',
            ts: 0,
            reasons: [],
          },
        ],
        changes: [],
        workOrders: [],
        sensors: [
          // No windows at all: nothing to judge r9 by, so no period.
          energy(1, 'r9', 'north', []),
          // Only the baseline weeks before the period: an energy history, so a period.
          energy(2, 'r1', 'south', [window(FROM - 7 * 86_400_000, 5, 7)]),
        ],
      },
    );
    expect(periods.map((p) => [p.roomId, p.campusId, p.occupancy?.initial ?? null, p.energyHistory])).toEqual(
      [
        ['r1', 'north', 'occupied', []],
        ['r1', 'south', null, [{ windowStart: FROM - 7 * 86_400_000, kwh: 2 }]],
      ],
    );
    expect(
      assemblePeriods(
        FROM,
        TO,
        { roomId: 'r1', campusId: 'south' },
        {
          keyStates: [],
          changes: [],
          workOrders: [],
          sensors: [energy(2, 'r1', 'south', [window(FROM, 7, 8)])],
        },
      ).map((p) => [p.roomId, p.campusId, p.energy.length]),
    ).toEqual([['r1', 'south', 1]]);
  });
});
