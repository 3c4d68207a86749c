/**
 * Codec throughput on one core: a server encodes a request, the device decodes it, encodes its
 * answer, and the server decodes that. One "message" is one encode plus one decode.
 */
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../firmware-protocol/index.ts';
import { printMetric } from './report.ts';

function roundTrip(i: number): void {
  const request = encodeRequest('ft900device1', 'set_gpio', { number: i % 67, value: (i & 1) as 0 | 1 }, { cid: `c${i}` });
  if (!request.ok) throw new Error(request.error.message);
  const received = decodeRequest(request.value.topic, request.value.payload);
  if (!received.ok || received.value.command !== 'set_gpio') throw new Error('decode failed');
  const answer = encodeResponse('ft900device1', 'set_gpio', { result: received.value.params as { number: number; value: 0 | 1 } }, { cid: received.value.cid });
  if (!answer.ok) throw new Error(answer.error.message);
  const back = decodeResponse(answer.value.topic, answer.value.payload);
  if (!back.ok) throw new Error(back.error.message);
}

function measure(seconds: number): number {
  let count = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) roundTrip(count + i);
    count += 1000;
  }
  return (count * 2) / ((performance.now() - start) / 1000); // two messages per round trip
}

measure(0.5); // warm up the JIT
const runs = [measure(1), measure(1), measure(1)].sort((a, b) => a - b);
printMetric('codec_msgs_per_s', runs[1]!, 'msg/s');

const garbage = Buffer.alloc(1024 * 1024, 0x5b);
let start = performance.now();
for (let i = 0; i < 1000; i++) decodeRequest('ft900device1/get_gpio', garbage);
printMetric('codec_reject_1mb_us', ((performance.now() - start) * 1000) / 1000, 'us');
const malformed = Buffer.from('{"number":'.padEnd(4000, '['));
start = performance.now();
for (let i = 0; i < 1000; i++) decodeRequest('ft900device1/get_gpio', malformed);
printMetric('codec_reject_malformed_4kb_us', ((performance.now() - start) * 1000) / 1000, 'us');
