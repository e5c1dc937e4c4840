/**
 * Group commit: every ingest adapter hands its validated readings (and its rejections, for quarantine)
 * here with a callback; everything submitted during one turn of the event loop is written in one
 * transaction, and only then are the callbacks called (MQTT PUBACK, HTTP 202, Modbus poll success).
 * [MQTT-4.3.2-2]: the PUBACK for a QoS 1 message is sent once we have taken ownership of it, i.e. once
 * it is durable.
 */
import type { Reading } from '../../shared/events.ts';
import type { QuarantineEntry } from '../journal/index.ts';

export type CommitCallback = (err: Error | null) => void;

export interface Submission {
  readings: readonly Reading[];
  rejected: readonly QuarantineEntry[];
  done: CommitCallback;
}

export class GroupCommitter {
  #pending: Submission[] = [];
  #pendingRows = 0;
  #scheduled = false;
  readonly #maxRows: number;
  readonly #write: (batch: Submission[]) => void;
  readonly #onError: (err: Error, batch: Submission[]) => void;

  constructor(
    maxRows: number,
    write: (batch: Submission[]) => void,
    onError: (err: Error, batch: Submission[]) => void = () => {},
  ) {
    this.#maxRows = maxRows;
    this.#write = write;
    this.#onError = onError;
  }

  submit(s: Submission): void {
    this.#pending.push(s);
    this.#pendingRows += s.readings.length + s.rejected.length;
    if (this.#pendingRows >= this.#maxRows) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  get pending(): number {
    return this.#pending.length;
  }

  flush(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    this.#pendingRows = 0;
    let error: Error | null = null;
    try {
      this.#write(batch);
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
      this.#onError(error, batch);
    }
    // On error nothing was written, so nothing is acknowledged: every submitter hears of it.
    for (const s of batch) s.done(error);
  }
}
