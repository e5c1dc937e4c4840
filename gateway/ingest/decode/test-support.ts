/** Fixtures shared by the decoder's tests: a registered device and a decode context at a fixed instant. */
import type { ChannelInfo, DeviceInfo } from '../../../shared/campus.ts';
import type { Quantity } from '../../../shared/quantities.ts';
import type { DecodeContext } from './index.ts';

export const NOW = Date.UTC(2026, 10, 27, 12);

export function testDevice(
  channels: Record<string, Quantity>,
  deviceId = 'env-101',
  roomId = 'B1-101',
): DeviceInfo {
  return {
    deviceId,
    roomId,
    kind: 'env-sensor',
    expectedIntervalMs: 60_000,
    channels: new Map<string, ChannelInfo>(
      Object.entries(channels).map(([name, quantity]) => [name, { name, quantity }]),
    ),
    passwordHash: undefined,
  };
}

export function testContext(device: DeviceInfo, over: Partial<DecodeContext> = {}): DecodeContext {
  return {
    device,
    now: NOW,
    maxFutureMs: 300_000,
    oldestAcceptedTs: NOW - 86_400_000,
    maxPayloadBytes: 65_536,
    source: 'mqtt',
    ...over,
  };
}
