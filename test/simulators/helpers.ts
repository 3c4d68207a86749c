/** Test-side "server": collects the device's answers and lets a test wait for a given one. */
import { decodeResponse, type DeviceResponse, type Transport } from '../../firmware-protocol/index.ts';

export interface Received {
  topic: string;
  payload: Buffer;
  /** The raw JSON body, when it is JSON. */
  body: Record<string, unknown> | undefined;
  decoded: ReturnType<typeof decodeResponse>;
}

export class AnswerInbox {
  private readonly backlog: Received[] = [];
  private readonly waiters: { match: (answer: Received) => boolean; resolve: (answer: Received) => void }[] = [];

  constructor(private readonly transport: Transport = 'mqtt') {}

  push(topic: string, payload: Buffer): void {
    let body: Record<string, unknown> | undefined;
    try {
      body = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    } catch {
      body = undefined;
    }
    const received: Received = { topic, payload, body, decoded: decodeResponse(topic, payload, { transport: this.transport }) };
    const index = this.waiters.findIndex((waiter) => waiter.match(received));
    if (index < 0) {
      this.backlog.push(received);
      return;
    }
    const [waiter] = this.waiters.splice(index, 1);
    waiter!.resolve(received);
  }

  /** The first answer (already received or still to come) that matches. */
  next(match: (answer: Received) => boolean): Promise<Received> {
    const index = this.backlog.findIndex(match);
    if (index >= 0) return Promise.resolve(this.backlog.splice(index, 1)[0]!);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  byCid(cid: string): Promise<Received> {
    return this.next((answer) => answer.body?.cid === cid);
  }
}

/** The decoded answer, or a test failure saying what the device sent instead. */
export function decoded(answer: Received): DeviceResponse {
  if (!answer.decoded.ok) throw new Error(`invalid answer on ${answer.topic}: ${answer.decoded.error.message} (${answer.payload.toString()})`);
  return answer.decoded.value;
}

let counter = 0;
/** Device ids unique to this run, so parallel runs and leftovers never collide. */
export function uniqueDeviceId(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
}

let cidCounter = 0;
export function nextCid(): string {
  return `t${(cidCounter++).toString(36)}`;
}
