/**
 * Values by (campus, device, channel) in nested maps, so that the apply's per-window lookups build no key
 * strings: the SQLite store's sensor-id cache and the PostgreSQL apply's sensors of one call.
 */
export class SensorMap<T> {
  readonly #byCampus = new Map<string, Map<string, Map<string, T>>>();

  get(campusId: string, deviceId: string, channel: string): T | undefined {
    return this.#byCampus.get(campusId)?.get(deviceId)?.get(channel);
  }

  set(campusId: string, deviceId: string, channel: string, value: T): void {
    let byDevice = this.#byCampus.get(campusId);
    if (!byDevice) {
      byDevice = new Map();
      this.#byCampus.set(campusId, byDevice);
    }
    let byChannel = byDevice.get(deviceId);
    if (!byChannel) {
      byChannel = new Map();
      byDevice.set(deviceId, byChannel);
    }
    byChannel.set(channel, value);
  }

  delete(campusId: string, deviceId: string, channel: string): void {
    this.#byCampus.get(campusId)?.get(deviceId)?.delete(channel);
  }

  clear(): void {
    this.#byCampus.clear();
  }
}
