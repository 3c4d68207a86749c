import { describe, expect, it } from 'vitest';
import { amqpDeviceQueue, deviceOfAmqpQueue } from '../../firmware-protocol/index.ts';

describe('device queue names', () => {
  it('finds the device a queue belongs to, and only for device queues', () => {
    expect(deviceOfAmqpQueue(amqpDeviceQueue('ft900device1'))).toBe('ft900device1');
    expect(deviceOfAmqpQueue(amqpDeviceQueue('a-b_c'))).toBe('a-b_c');
    for (const other of ['amq.gen-Xyz', 'mqtt-subscription-qos1', 'mqtt-subscription-a.bqos1', 'mqtt-subscription-x#qos1', 'xmqtt-subscription-aqos1', 'mqtt-subscription-aqos0']) {
      expect(deviceOfAmqpQueue(other), other).toBeUndefined();
    }
  });
});
