/**
 * A simulated campus, pure: what each device would measure at a given instant. Rooms fill and empty on a
 * timetable (lectures on the hour, 09:00–18:00 on weekdays, with a per-room, per-hour draw), and the
 * physical channels follow occupancy: CO2 rises with people, temperature a little, lights come on, meters
 * draw more. Deterministic from (device, time), so tests and benchmarks can predict what was sent.
 */
import type { Quantity } from '../quantities.ts';

export interface SimChannel {
  name: string;
  quantity: Quantity;
}

export interface SimDevice {
  deviceId: string;
  roomId: string;
  capacity: number;
  channels: readonly SimChannel[];
  /** Another seed draws another timetable and other noise; the same seed, the same readings. */
  seed?: string;
}

/** A small, fast, deterministic hash to [0, 1). */
export function unitHash(...parts: (string | number)[]): number {
  let h = 2166136261;
  for (const p of parts) {
    const s = String(p);
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 16777619);
    }
    h ^= 0x2f;
  }
  h ^= h >>> 13;
  h = Math.imul(h, 0x5bd1e995);
  h ^= h >>> 15;
  return (h >>> 0) / 4294967296;
}

/** Whether the timetable books the room for the hour holding `ts` (weekdays 09-18 UTC, 60% of hours). */
export function bookedHour(roomId: string, ts: number): boolean {
  const d = new Date(ts);
  const hour = d.getUTCHours();
  if (d.getUTCDay() < 1 || d.getUTCDay() > 5 || hour < 9 || hour >= 18) return false;
  return unitHash(roomId, Math.floor(ts / 3_600_000)) < 0.6;
}

/** People in a room at `ts`: a lecture-hour timetable drawn per room and hour. */
export function peopleAt(roomId: string, capacity: number, ts: number): number {
  const d = new Date(ts);
  const hour = d.getUTCHours();
  const weekday = d.getUTCDay() >= 1 && d.getUTCDay() <= 5;
  if (!weekday || hour < 9 || hour >= 18) return 0;
  const hourKey = Math.floor(ts / 3_600_000);
  if (!bookedHour(roomId, ts)) return 0;
  const minute = d.getUTCMinutes();
  // Arrive in the first 5 minutes, leave in the last 10.
  if (minute >= 50) return 0;
  const fill = 0.3 + 0.6 * unitHash(roomId, hourKey, 'fill');
  const arriving = minute < 5 ? (minute + 1) / 6 : 1;
  return Math.round(capacity * fill * arriving);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** One device's readings at `ts`, in canonical units, rounded the way real sensors report. */
export function sampleDevice(dev: SimDevice, ts: number): Record<string, number> {
  const seeded = (id: string) => (dev.seed ? `${dev.seed}/${id}` : id);
  const people = peopleAt(seeded(dev.roomId), dev.capacity, ts);
  const load = dev.capacity > 0 ? people / dev.capacity : 0;
  const noise = (ch: string) => unitHash(seeded(dev.deviceId), ch, Math.floor(ts / 1000)) - 0.5;
  const out: Record<string, number> = {};
  for (const ch of dev.channels) {
    switch (ch.quantity) {
      case 'temperature':
        out[ch.name] = round(20.5 + 2.5 * load + 0.3 * noise(ch.name), 2);
        break;
      case 'humidity':
        out[ch.name] = round(42 + 8 * load + noise(ch.name), 1);
        break;
      case 'co2':
        out[ch.name] = Math.round(430 + 900 * load + 20 * noise(ch.name));
        break;
      case 'light':
        out[ch.name] = Math.round(people > 0 ? 450 + 40 * noise(ch.name) : 15 + 5 * noise(ch.name));
        break;
      case 'motion':
        out[ch.name] = people > 0 ? 1 : 0;
        break;
      case 'occupancy_count':
        out[ch.name] = people;
        break;
      case 'power':
        out[ch.name] = round(1.2 + 6 * load + 0.2 * noise(ch.name), 3);
        break;
      case 'energy':
        // A meter's register only counts up: an average draw of 2 kW since the epoch.
        out[ch.name] = round((ts / 3_600_000) * 2, 3);
        break;
      case 'voltage':
        out[ch.name] = round(230 + 2 * noise(ch.name), 1);
        break;
      case 'current':
        out[ch.name] = round(((1.2 + 6 * load) * 1000) / 230, 2);
        break;
      default:
        out[ch.name] = round(noise(ch.name), 3);
    }
  }
  return out;
}
