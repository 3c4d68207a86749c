/**
 * `iotcloud broker start|stop|status`: the project-owned RabbitMQ node. `start` takes the
 * platform CA and server certificate from the server's data folder (creating them on first use,
 * exactly as `iotcloud up` does), so devices see one CA whichever engine serves them.
 */
import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { defaultConfig } from '../../server/config.ts';
import { requestedTlsHosts, serverOptions, tlsHostConfig } from '../server-options.ts';
import { defaultBrokerPorts, defaultStateDir } from '../../broker/layout.ts';

// The node's and the CA's code is loaded by the action that needs it: every other command starts without it (cli/main.ts).
const brokerNode = () => import('../../broker/node.ts');

const brokerAuthPath = '/api/v1/broker-auth';

interface CommonArgs {
  'state-dir': string;
}

interface StartArgs extends CommonArgs {
  'data-dir': string;
  'amqps-port': number;
  'mqtts-port': number;
  'mqtt-port'?: number;
  'dist-port'?: number;
  'device-host': string;
  'auth-url': string;
  'auth-cache-ttl': number;
  'log-level': string;
  'tls-host'?: string[];
}

const stateDirOption = { 'state-dir': { type: 'string', default: defaultStateDir, describe: 'where the node keeps its configuration, data, logs and cookie' } } as const;

const startCommand: CommandModule<object, StartArgs> = {
  command: 'start',
  describe: 'Start the node in the background and wait until it accepts connections',
  builder: (y) =>
    y.options({
      ...stateDirOption,
      'data-dir': { type: 'string', default: defaultConfig.dataDir, describe: "the iotcloud server's data folder (platform CA and server certificate)" },
      'amqps-port': { type: 'number', default: defaultBrokerPorts.amqps, describe: 'AMQPS for devices and the server (mutual TLS, certificate login only)' },
      'mqtts-port': { type: 'number', default: defaultBrokerPorts.mqtts, describe: 'MQTTS for devices (mutual TLS)' },
      'mqtt-port': { type: 'number', describe: 'plain MQTT on 127.0.0.1 for debugging (off unless given)' },
      'dist-port': { type: 'number', describe: 'Erlang distribution port (default: AMQPS port + 20000)' },
      'device-host': { type: 'string', default: '127.0.0.1', describe: 'address the device listeners bind (0.0.0.0: every interface)' },
      'auth-url': {
        type: 'string',
        default: `https://127.0.0.1:${defaultConfig.apiPort}${brokerAuthPath}`,
        describe: "the server's broker-auth endpoints, asked on every device connect",
      },
      'auth-cache-ttl': { type: 'number', default: 10_000, describe: 'how long the node reuses an auth answer, ms' },
      'tls-host': { ...serverOptions['tls-host'], describe: 'a name or address boards on the LAN reach the node by, repeatable (or env IOTCLOUD_TLS_HOSTS): added to its certificate; give `iotcloud up` the same' },
      'log-level': { type: 'string', default: 'warning', choices: ['debug', 'info', 'warning', 'error'] },
    }) as unknown as Argv<StartArgs>,
  handler: async (args) => {
    const [{ loadOrCreateCertificateAuthority, loadOrCreateServerCertificate }, { startBrokerNode }] = await Promise.all([import('../../certs/index.ts'), brokerNode()]);
    const ca = await loadOrCreateCertificateAuthority(join(args['data-dir'], 'ca'));
    const tlsHosts = tlsHostConfig(requestedTlsHosts(args['tls-host'])).tlsHosts ?? defaultConfig.tlsHosts;
    const serverTls = await loadOrCreateServerCertificate(ca, join(args['data-dir'], 'tls'), tlsHosts);
    if (serverTls.status === 'reissued') console.log(`iotcloud broker: server certificate reissued from the same root CA for ${serverTls.hosts.join(', ')}`);
    const node = await startBrokerNode({
      stateDir: args['state-dir'],
      amqpsPort: args['amqps-port'],
      mqttsPort: args['mqtts-port'],
      ...(args['mqtt-port'] === undefined ? {} : { mqttPort: args['mqtt-port'] }),
      ...(args['dist-port'] === undefined ? {} : { distPort: args['dist-port'] }),
      deviceHost: args['device-host'],
      tls: { clientTrustPem: ca.clientTrustPem, rootCaPem: ca.rootCertPem, certPem: serverTls.certPem, keyPem: serverTls.keyPem },
      authUrl: args['auth-url'],
      authCacheTtlMs: args['auth-cache-ttl'],
      logLevel: args['log-level'],
      log: (message) => console.log(`iotcloud broker: ${message}`),
    });
    console.log(`RabbitMQ node ${node.nodeName} is ${node.alreadyRunning ? 'already running' : `up (booted in ${(node.bootMs / 1000).toFixed(1)} s)`}
  devices    ${node.mqttsUrl}   ${node.amqpsUrl}   (mutual TLS, platform CA)
  server     ${node.amqpsUrl}   (user ${node.credentials.username}: a client certificate for it from the platform CA, SASL EXTERNAL)
  auth       ${node.authUrl}/{user,vhost,resource,topic}
  state      ${node.stateDir}
Stop it with \`iotcloud broker stop\`.`);
  },
};

const stopCommand: CommandModule<object, CommonArgs> = {
  command: 'stop',
  describe: 'Stop the node and wait for its process to end',
  builder: (y) => y.options(stateDirOption),
  handler: async (args) => {
    const { stopBrokerNode } = await brokerNode();
    const stopped = await stopBrokerNode({ stateDir: args['state-dir'], log: (message) => console.log(`iotcloud broker: ${message}`) });
    console.log(stopped ? 'RabbitMQ node stopped' : `no RabbitMQ node is running from ${args['state-dir']}`);
  },
};

const statusCommand: CommandModule<object, CommonArgs & { json: boolean }> = {
  command: 'status',
  describe: 'Is the node running; its ports, version, file descriptors and memory',
  builder: (y) => y.options({ ...stateDirOption, json: { type: 'boolean', default: false, describe: 'print JSON' } }),
  handler: async (args) => {
    const { brokerStatus } = await brokerNode();
    const status = await brokerStatus({ stateDir: args['state-dir'] });
    if (args.json) {
      console.log(JSON.stringify(status, null, 2));
    } else if (!status.running) {
      console.log(`no RabbitMQ node is running from ${status.stateDir}${status.state ? ` (last: ${status.state.nodeName})` : ''}`);
    } else {
      const s = status.state!;
      console.log(`RabbitMQ ${status.rabbitmqVersion ?? '?'} node ${s.nodeName} is running (pid ${s.pid}${status.uptimeSeconds === undefined ? '' : `, up ${status.uptimeSeconds} s`})
  listeners  ${(status.listeners ?? []).join(', ') || '?'}
  files      ${status.fileDescriptors ? `${status.fileDescriptors.used} of ${status.fileDescriptors.limit} file descriptors` : '?'}
  memory     ${status.memoryBytes === undefined ? '?' : `${Math.round(status.memoryBytes / 1048576)} MB`}${status.problem ? `\n  problem    ${status.problem}` : ''}`);
    }
    if (!status.running) process.exitCode = 3; // like `systemctl status`: scripts can test it
  },
};

export const brokerCommand: CommandModule = {
  command: 'broker',
  describe: 'Run the project-owned RabbitMQ node (the RabbitMQ device bus)',
  builder: (y) =>
    y
      .command(startCommand as unknown as CommandModule)
      .command(stopCommand as unknown as CommandModule)
      .command(statusCommand as unknown as CommandModule)
      .demandCommand(1, 'name an action: start, stop or status'),
  handler: () => undefined,
};
