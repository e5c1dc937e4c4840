/**
 * WAL checkpoints off the apply path: a worker thread with its own connection to the store's file copies
 * committed WAL frames back into the database (PASSIVE: it never blocks the writer). Every `delayMs` it asks
 * its connection's `PRAGMA data_version`, which moves when any other connection commits, and checkpoints
 * when it moved (or when the last checkpoint could not finish): every write is covered, whoever makes it,
 * and the writers need not say anything. Without it, the commit that crosses `wal_autocheckpoint` copies the frames
 * and syncs the file inside applyBatch. The writer keeps a higher `wal_autocheckpoint` as a safety net for
 * a worker that falls behind or fails.
 *
 * The worker's source is a string (eval), so it runs the same from the sources, under vitest and from the
 * launcher's bundle; better-sqlite3 is resolved here and handed over as a path.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
let db;
try {
  db = new Database(workerData.file, { fileMustExist: true });
} catch (err) {
  // Thrown, the error would reach the parent without its message (only its own properties are cloned).
  parentPort.postMessage({ kind: 'failed', message: String(err && err.message || err) });
  parentPort.close();
}
if (db) {
  const version = db.prepare('PRAGMA data_version').pluck();
  let seen = version.get();
  // Commits made before this worker was up do not move data_version for it: one checkpoint to start with.
  let pending = true;
  const timer = setInterval(() => {
    try {
      const now = version.get();
      if (now === seen && !pending) return;
      seen = now;
      const [r] = db.pragma('wal_checkpoint(PASSIVE)');
      pending = r.busy === 1;
      parentPort.postMessage({ kind: 'done', busy: pending, checkpointed: r.checkpointed });
    } catch (err) {
      parentPort.postMessage({ kind: 'failed', message: String(err && err.message || err) });
    }
  }, workerData.delayMs);
  parentPort.on('message', (m) => {
    if (m !== 'close') return;
    clearInterval(timer);
    db.close();
    parentPort.close();
  });
}
`;

export interface CheckpointStats {
  /** Checkpoints the worker ran. */
  runs: number;
  /** WAL frames (pages) they copied back. */
  frames: number;
  /** Checkpoints that could not finish (a reader or another checkpointer in the way): retried next time. */
  busy: number;
  /** The last failure, if the worker failed (the writer's own checkpoints then take over). */
  lastError: string | null;
  /** Whether checkpoints are still off the apply path. */
  running: boolean;
}

type WorkerMessage =
  | { kind: 'done'; busy: boolean; checkpointed: number }
  | { kind: 'failed'; message: string };

export class BackgroundCheckpointer {
  readonly #worker: Worker;
  readonly #stats: CheckpointStats = { runs: 0, frames: 0, busy: 0, lastError: null, running: true };
  readonly #onFailure: () => void;
  readonly #exited: Promise<void>;
  /** Frames already counted in the current WAL generation (the log restarts after a full checkpoint). */
  #counted = 0;

  /**
   * `onFailure` runs once if the worker fails or exits on its own: the writer should checkpoint itself again.
   * `delayMs` is how often the worker looks for new commits: those within it share one checkpoint.
   */
  constructor(file: string, opts: { delayMs: number; onFailure: () => void }) {
    this.#onFailure = opts.onFailure;
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file, module, delayMs: opts.delayMs },
    });
    // Never what keeps a process alive: close() ends it, and an exiting process takes it along.
    this.#worker.unref();
    this.#worker.on('message', (m: WorkerMessage) => this.#message(m));
    // An error thrown in a worker arrives without its message when it is not a plain Error (SqliteError).
    this.#worker.on('error', (err: Error & { code?: string }) =>
      this.#fail(err.message ?? err.code ?? 'worker error'),
    );
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
    this.#exited.then(() => {
      if (this.#stats.running) this.#fail('checkpoint worker exited');
    });
  }

  stats(): CheckpointStats {
    return { ...this.#stats };
  }

  /** Stops the worker after closing its connection (a checkpoint under way finishes first). */
  async close(): Promise<void> {
    if (!this.#stats.running) return;
    this.#stats.running = false;
    // Referenced again while it closes: an unreferenced worker would let the process end before it has.
    this.#worker.ref();
    this.#worker.postMessage('close');
    await this.#exited;
  }

  #message(m: WorkerMessage): void {
    if (m.kind === 'failed') {
      this.#fail(m.message);
      return;
    }
    this.#stats.runs++;
    if (m.busy) this.#stats.busy++;
    // `checkpointed` counts from the start of the WAL; a smaller figure means the WAL started over.
    if (m.checkpointed < this.#counted) this.#counted = 0;
    this.#stats.frames += m.checkpointed - this.#counted;
    this.#counted = m.checkpointed;
  }

  #fail(message: string): void {
    this.#stats.lastError = message;
    if (!this.#stats.running) return;
    this.#stats.running = false;
    void this.#worker.terminate();
    this.#onFailure();
  }
}
