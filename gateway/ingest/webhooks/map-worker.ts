/**
 * A map thread's entry (map-pool.ts): maps each webhook request body it is sent (mapRequest) with its own
 * pseudonymiser over the campus secret, and answers with the journal's columns. Holds no other state.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type MapJob, type MapReply, type MapThreadData, mapRequest } from './map-request.ts';
import { createPseudonymiser } from './pseudonym.ts';

const data = workerData as MapThreadData;
const pseudonym = createPseudonymiser(data.secret);
const port = parentPort;
port?.on('message', (job: MapJob) => {
  let reply: MapReply;
  try {
    const outcome = mapRequest(job.source, job.body, {
      pseudonym,
      receivedAt: job.receivedAt,
      keepNames: data.keepNames,
      keepEmails: data.keepEmails,
    });
    reply = { id: job.id, outcome };
  } catch (err) {
    reply = { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
