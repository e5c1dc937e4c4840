// A map thread from the TypeScript sources, through the project's loader hook: for where no bundle of
// map-worker.ts could be built (map-pool.ts; a read-only install).
import { workerData } from 'node:worker_threads';

await import(workerData.loader);
await import(workerData.entry);
