/**
 * Payload decoding for MQTT telemetry and status: bytes in, canonical Readings (or a DeviceStatus) and
 * coded rejections out. Pure and synchronous (time comes in through the context); the MQTT adapter owns
 * topics, journaling and quarantine.
 *
 * Telemetry is either the native JSON object form (native.ts) or a SenML JSON pack (senml.ts, RFC 8428);
 * the top-level JSON type decides which. Items are accepted or rejected one by one: a payload can yield
 * both readings and rejections.
 */
import { decodeNative } from './native.ts';
import { decodeSenml } from './senml.ts';
import {
  type DecodeContext,
  type DecodeResult,
  isRecord,
  JsonFailure,
  parseJson,
  rejection,
  Sink,
  typeName,
} from './validate.ts';

export { decodeStatus } from './status.ts';
export type { DecodeContext, DecodeResult, ItemRejection } from './validate.ts';

export function decodeTelemetry(payload: Uint8Array, ctx: DecodeContext): DecodeResult {
  // Size first, before spending anything on the bytes.
  if (payload.byteLength > ctx.maxPayloadBytes) {
    return {
      readings: [],
      rejections: [
        rejection('CT_ERR_PAYLOAD_TOO_LARGE', `${payload.byteLength} bytes > ${ctx.maxPayloadBytes}`),
      ],
    };
  }
  const doc = parseJson(payload);
  if (doc instanceof JsonFailure) {
    return { readings: [], rejections: [rejection('CT_ERR_NOT_JSON', doc.detail)] };
  }
  const sink = new Sink(ctx);
  if (Array.isArray(doc)) {
    decodeSenml(doc, sink);
  } else if (isRecord(doc)) {
    decodeNative(doc, sink);
  } else {
    sink.reject(
      'CT_ERR_SCHEMA',
      `expected a JSON object (native form) or array (SenML pack), got ${typeName(doc)}`,
    );
  }
  const result = sink.result();
  // A payload that parsed but carried nothing (`[]`, `{"readings":{}}`) is answered, not ignored.
  if (result.readings.length === 0 && result.rejections.length === 0) {
    result.rejections.push(rejection('CT_ERR_SCHEMA', 'the payload holds no readings'));
  }
  return result;
}
