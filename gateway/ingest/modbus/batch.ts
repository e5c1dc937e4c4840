/**
 * Coalesces the journal writes of many polls into one pipeline submission every few milliseconds. The
 * pipeline already group-commits what arrives in one event-loop turn, but Modbus answers trickle in over
 * many turns; with a hundred devices polled back to back that is a transaction (and, with
 * synchronous=FULL, an fsync) per answer. A poll still counts as a success only once its batch is
 * journaled: each `add` resolves when the submission that carried it has been committed.
 */
import type { Reading } from '../../../shared/events.ts';
import type { QuarantineEntry } from '../../journal/index.ts';

type Submit = (readings: readonly Reading[], rejected: readonly QuarantineEntry[]) => Promise<void>;

export class JournalBatch {
  readonly #submit: Submit;
  readonly #windowMs: number;
  readonly #maxRows: number;
  #readings: Reading[] = [];
  #rejected: QuarantineEntry[] = [];
  #waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #inFlight = new Set<Promise<void>>();

  constructor(submit: Submit, windowMs: number, maxRows: number) {
    this.#submit = submit;
    this.#windowMs = windowMs;
    this.#maxRows = maxRows;
  }

  add(readings: readonly Reading[], rejected: readonly QuarantineEntry[]): Promise<void> {
    for (const r of readings) this.#readings.push(r);
    for (const q of rejected) this.#rejected.push(q);
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (this.#readings.length + this.#rejected.length >= this.#maxRows) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), this.#windowMs);
    return done;
  }

  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#waiters.length === 0) return;
    const readings = this.#readings;
    const rejected = this.#rejected;
    const waiters = this.#waiters;
    this.#readings = [];
    this.#rejected = [];
    this.#waiters = [];
    const p = this.#submit(readings, rejected).then(
      () => {
        for (const w of waiters) w.resolve();
      },
      (err: unknown) => {
        for (const w of waiters) w.reject(err);
      },
    );
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
  }

  /** Submits what is pending and waits for every submission to settle. */
  async drain(): Promise<void> {
    this.flush();
    await Promise.all(this.#inFlight);
  }
}
