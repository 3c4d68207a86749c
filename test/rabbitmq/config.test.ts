/** The generated node files and the presence bookkeeping, without a broker. */
import { describe, expect, it } from 'vitest';
import { brokerPlugins, renderAdvancedConfig, renderEnabledPlugins, renderRabbitmqConf, type RenderedConfigInput } from '../../broker/config.ts';
import type { PresenceEvent } from '../../server/bus/device-bus.ts';
import { PresenceTracker } from '../../server/bus/rabbitmq/presence.ts';

const input: RenderedConfigInput = {
  amqpsPort: 5681,
  mqttsPort: 8893,
  mqttPort: undefined,
  deviceHost: '127.0.0.1',
  clientCaFile: '/s/tls/client-ca.crt',
  certFile: '/s/tls/server.crt',
  keyFile: '/s/tls/server.key',
  serviceUser: '_iotcloud-server',
  servicePassword: 'secret',
  authUrl: 'https://127.0.0.1:8443/api/v1/broker-auth',
  authCacheTtlMs: 10000,
  logLevel: 'warning',
};

describe('rabbitmq.conf', () => {
  it('fills every placeholder: listeners, mutual TLS, certificate login, auth chain', async () => {
    const conf = await renderRabbitmqConf(input);
    expect(conf).not.toMatch(/\{\{/);
    for (const line of [
      'listeners.tcp = none',
      'listeners.ssl.1 = 127.0.0.1:5681',
      'mqtt.listeners.ssl.1 = 127.0.0.1:8893',
      'mqtt.listeners.tcp = none',
      'ssl_options.verify = verify_peer',
      'ssl_options.fail_if_no_peer_cert = true',
      'mqtt.ssl_cert_login = true',
      'ssl_cert_login_from = common_name',
      'auth_mechanisms.1 = EXTERNAL',
      'auth_backends.1 = internal',
      'auth_backends.2 = cache',
      'auth_cache.cached_backend = http',
      'auth_http.topic_path = https://127.0.0.1:8443/api/v1/broker-auth/topic',
      'default_user = _iotcloud-server',
      'amqp1_0.default_user = none',
      'mqtt.allow_anonymous = false',
    ]) {
      expect(conf).toContain(`${line}\n`);
    }
    // Issue 15: with PLAIN offered, a device certificate plus another device's name got in.
    expect(conf).not.toMatch(/^auth_mechanisms\.\d+ = PLAIN/m);
    expect(conf).not.toMatch(/^listeners\.tcp\.\d/m);
  });

  it('brackets IPv6 listener addresses and can open plain MQTT on loopback', async () => {
    const conf = await renderRabbitmqConf({ ...input, deviceHost: '::', mqttPort: 1884 });
    expect(conf).toContain('listeners.ssl.1 = [::]:5681\n');
    expect(conf).toContain('mqtt.listeners.tcp.1 = 127.0.0.1:1884\n');
  });

  it('refuses values that would inject settings', async () => {
    await expect(renderRabbitmqConf({ ...input, authUrl: 'http://x/\nloopback_users = none' })).rejects.toThrow(/newline/);
    await expect(renderRabbitmqConf({ ...input, servicePassword: 'a#b' })).rejects.toThrow(/newline or '#'/);
  });
});

describe('advanced.config and plugins', () => {
  it('verifies the HTTPS auth server against the platform CA', () => {
    const byName = renderAdvancedConfig({ authUrl: 'https://localhost:8443/x', rootCaFile: '/s/ca.crt' });
    expect(byName).toContain('{cacertfile, "/s/ca.crt"}');
    expect(byName).toContain('{verify, verify_peer}');
    expect(byName).toContain('{server_name_indication, "localhost"}');
    expect(renderAdvancedConfig({ authUrl: 'https://127.0.0.1:8443/x', rootCaFile: '/s/ca.crt' })).toContain('{server_name_indication, disable}');
    expect(renderAdvancedConfig({ authUrl: 'http://127.0.0.1:8080/x', rootCaFile: '/s/ca.crt' })).toBe('[].\n');
  });

  it('enables the six plugins', () => {
    expect(renderEnabledPlugins()).toBe(`[${brokerPlugins.join(',')}].\n`);
    expect(brokerPlugins).toHaveLength(6);
  });
});

describe('PresenceTracker', () => {
  it('is online while a device holds a connection; closed events carry only the connection name', () => {
    const events: PresenceEvent[] = [];
    const tracker = new PresenceTracker((event) => events.push(event));
    tracker.opened({ name: 'c1', user: 'dev1' });
    tracker.opened({ name: 'c2', user: 'dev1' });
    tracker.opened({ name: 's1', user: '_iotcloud-server' }); // not a device
    expect(tracker.isOnline('dev1')).toBe(true);
    expect(tracker.deviceCount).toBe(1);
    tracker.closed('c1');
    expect(tracker.isOnline('dev1')).toBe(true);
    tracker.closed('c2');
    tracker.closed('unknown');
    expect(events.map((e) => `${e.deviceId}:${e.online}`)).toEqual(['dev1:true', 'dev1:false']);
  });

  it('reset emits only the changes; clear takes everyone offline', () => {
    const events: PresenceEvent[] = [];
    const tracker = new PresenceTracker((event) => events.push(event));
    tracker.opened({ name: 'a', user: 'dev1' });
    tracker.opened({ name: 'b', user: 'dev2' });
    tracker.reset([{ name: 'a', user: 'dev1' }, { name: 'c', user: 'dev3' }]);
    expect(events.slice(2).map((e) => `${e.deviceId}:${e.online}`)).toEqual(['dev2:false', 'dev3:true']);
    tracker.clear();
    expect(tracker.deviceCount).toBe(0);
  });

  it('a listing taken while events arrive does not undo them (a device that connected or left meanwhile)', () => {
    const events: PresenceEvent[] = [];
    const tracker = new PresenceTracker((event) => events.push(event));
    tracker.opened({ name: 'a', user: 'dev1' });
    const window = tracker.beginListing();
    tracker.opened({ name: 'b', user: 'dev2' }); // after the node answered the listing
    tracker.closed('a'); // dev1 left after the listing was taken
    tracker.closed('c'); // dev3 too: connected before we listened, so never opened here
    tracker.reset([{ name: 'a', user: 'dev1' }, { name: 'c', user: 'dev3' }]);
    tracker.endListing(window);
    expect(tracker.isOnline('dev2')).toBe(true);
    expect(tracker.isOnline('dev1')).toBe(false);
    expect(tracker.isOnline('dev3')).toBe(false);
    expect(events.map((e) => `${e.deviceId}:${e.online}`)).toEqual(['dev1:true', 'dev2:true', 'dev1:false']);

    // Once the listing is over, a later one applies in full.
    tracker.reset([]);
    expect(tracker.isOnline('dev2')).toBe(false);
  });

  it('a failed listing stops recording, so later resets are plain again', () => {
    const tracker = new PresenceTracker(() => undefined);
    const window = tracker.beginListing();
    tracker.opened({ name: 'a', user: 'dev1' });
    tracker.endListing(window);
    tracker.reset([]);
    expect(tracker.isOnline('dev1')).toBe(false);
  });
});
