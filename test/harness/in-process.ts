/**
 * The harness's fast layer: a real aedes broker in this process on loopback without TLS, real
 * MQTT.js clients, and the TypeScript reference board answering (no device process, no
 * certificates). What it exercises is the harness's matching and attribution of answers; the
 * end-to-end tests (test/harness/conformance.test.ts) keep real brokers over TLS.
 */
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import type { EncodedMessage } from '../../firmware-protocol/index.ts';
import { MqttConnection, type MqttTarget } from '../../harness/targets/mqtt-target.ts';
import { Board } from '../../simulators/board.ts';

export interface InProcess {
  /** A harness target for `deviceId` over its own in-process connection. */
  target(deviceId: string): Promise<MqttTarget>;
  /**
   * A reference board on the broker as `deviceId`; `alter` may change or replace each answer
   * (return none to stay silent), as a faulty firmware would.
   */
  board(deviceId: string, alter?: (answer: EncodedMessage) => EncodedMessage[]): Promise<Board>;
  close(): Promise<void>;
}

export async function startInProcess(): Promise<InProcess> {
  const broker = await Aedes.createBroker();
  const clients: MqttClient[] = [];

  // Loopback TCP, no TLS: an in-process stream pair would be closer to aedes' own tests, but
  // MQTT.js's end() never finishes on one (it waits for a flush the pair does not report).
  const server = net.createServer((socket) => broker.handle(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function connect(clientId: string): Promise<MqttClient> {
    const client = await mqtt.connectAsync(url, { clientId, protocolVersion: 4, reconnectPeriod: 0, clean: true });
    clients.push(client);
    return client;
  }

  return {
    async target(deviceId) {
      const connection = await MqttConnection.over(await connect(`harness-${deviceId}`), 'in-process aedes');
      return connection.target(deviceId);
    },
    async board(deviceId, alter = (answer) => [answer]) {
      const board = new Board(deviceId);
      const client = await connect(deviceId);
      client.on('message', (topic, payload) => {
        const answer = board.handle(topic, payload);
        if (!answer) return;
        for (const sent of alter(answer)) client.publish(sent.topic, sent.payload, { qos: 1 });
        if (answer.restart) board.reboot();
      });
      await client.subscribeAsync(`${deviceId}/#`, { qos: 1 });
      return board;
    },
    async close() {
      await Promise.all(clients.map((client) => client.endAsync(true)));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
