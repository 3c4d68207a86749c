/**
 * A simulated device over AMQP 0-9-1 against the machine's RabbitMQ (it runs here and in CI).
 * The test plays the server: it publishes requests to `amq.topic` and reads the answers from a
 * private queue bound to `server.<id>.*`.
 */
import { once } from 'node:events';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AMQP_EXCHANGE, amqpDeviceQueue, errorCodes } from '../../firmware-protocol/index.ts';
import { startDevice, type SimulatedDevice } from '../../simulators/device.ts';
import { AnswerInbox, decoded, nextCid, uniqueDeviceId } from './helpers.ts';

const AMQP_URL = process.env.IOTCLOUD_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const deviceId = uniqueDeviceId('sim-amqp');

let connection: ChannelModel;
let channel: Channel;
let device: SimulatedDevice;
const inbox = new AnswerInbox('amqp');

beforeAll(async () => {
  try {
    connection = await amqp.connect(AMQP_URL);
  } catch (error) {
    throw new Error(
      `RabbitMQ is not reachable at ${AMQP_URL} (${(error as Error).message}). It must run on this machine and in CI ` +
        '(scripts/setup-system.sh installs it); set IOTCLOUD_TEST_AMQP_URL to use another broker.',
    );
  }
  channel = await connection.createChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  await channel.bindQueue(queue, AMQP_EXCHANGE, `server.${deviceId}.*`);
  await channel.consume(queue, (message) => message && inbox.push(message.fields.routingKey, message.content), { noAck: true });

  device = await startDevice({ transport: 'amqp091', url: AMQP_URL, allowPlaintext: true, deviceId, bootMs: 20, reconnect: { initialMs: 20, maxMs: 200 } });
});

afterAll(async () => {
  await device?.stop();
  if (channel) await channel.deleteQueue(amqpDeviceQueue(deviceId));
  await connection?.close();
});

async function command(name: string, params: object = {}) {
  const cid = nextCid();
  const answer = inbox.byCid(cid);
  channel.publish(AMQP_EXCHANGE, `${deviceId}.${name}`, Buffer.from(JSON.stringify({ cid, ...params })));
  const received = await answer;
  expect(received.topic).toBe(`server.${deviceId}.${name}`);
  return decoded(received);
}

describe('simulated device over AMQP 0-9-1 (RabbitMQ)', () => {
  it('consumes its queue, bound to amq.topic', async () => {
    const { consumerCount } = await channel.checkQueue(amqpDeviceQueue(deviceId));
    expect(consumerCount).toBe(1);
  });

  it('answers get_status', async () => {
    expect(await command('get_status')).toMatchObject({ deviceId, ok: true, result: { status: 'running' } });
  });

  it('answers set_gpio, and get_gpio reads the level back', async () => {
    expect(await command('set_gpio', { number: 18, value: 1 })).toMatchObject({ ok: true, result: { number: 18, value: 1 } });
    expect(await command('get_gpio', { number: 18 })).toMatchObject({ ok: true, result: { number: 18, value: 1 } });
    expect(await command('set_gpio', { number: 70, value: 1 })).toMatchObject({ ok: false, error: { code: errorCodes.INVALID_PARAMS, field: '/number' } });
  });

  it('resets and comes back over AMQP with power-on state', async () => {
    const back = once(device, 'connected');
    expect(await command('reset_device')).toMatchObject({ ok: true, result: { status: 'restarting' } });
    await back;
    expect(await command('get_gpio', { number: 18 })).toMatchObject({ ok: true, result: { number: 18, value: 0 } });
  });
});
