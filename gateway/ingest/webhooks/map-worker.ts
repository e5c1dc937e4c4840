/**
 * A map thread's entry (map-pool.ts): checks the signature of each webhook request it is sent and maps its
 * body (requestChecker) with its own pseudonymiser over the campus secret, and answers with the journal's
 * columns. Holds no other state.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type MapJob, type MapReply, type MapThreadData, requestChecker } from './map-request.ts';

const check = requestChecker(workerData as MapThreadData);
const port = parentPort;
port?.on('message', (job: MapJob) => {
  let reply: MapReply;
  try {
    reply = { id: job.id, outcome: check(job) };
  } catch (err) {
    reply = { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
