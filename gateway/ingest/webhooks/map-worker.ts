/**
 * A map thread's entry (map-pool.ts): checks the signature of each webhook request it is sent and maps its
 * body (checkRequest) with its own pseudonymiser over the campus secret, and answers with the journal's
 * columns. Holds no other state.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { checkRequest, type MapJob, type MapReply, type MapThreadData } from './map-request.ts';
import { createPseudonymiser } from './pseudonym.ts';

const data = workerData as MapThreadData;
const pseudonym = createPseudonymiser(data.secret);
const port = parentPort;
port?.on('message', (job: MapJob) => {
  let reply: MapReply;
  try {
    const ctx = {
      pseudonym,
      receivedAt: job.receivedAt,
      keepNames: data.keepNames,
      keepEmails: data.keepEmails,
    };
    const secret = data.hmacSecrets[job.source] ?? new Uint8Array(0);
    const outcome = checkRequest(job.source, job.body, ctx, job.hmac && { ...job.hmac, secret });
    reply = { id: job.id, outcome };
  } catch (err) {
    reply = { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
