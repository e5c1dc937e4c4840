/** The cloud's HTTP API. */
export { buildCloudApi, type CloudApiDeps } from './server.ts';
