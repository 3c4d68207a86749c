/**
 * Where a project-owned node keeps its files, and the environment every RabbitMQ program needs to
 * find that node instead of the machine's own (rabbit@localhost on 5672).
 */
import { join, resolve } from 'node:path';

/** The Debian package's scripts. `/usr/sbin/rabbitmq-server` would `su` to user rabbitmq. */
export const rabbitmqBin = '/usr/lib/rabbitmq/bin';
export const defaultBrokerPorts = { amqps: 5681, mqtts: 8893 } as const;
export const defaultStateDir = 'var/rabbitmq';

export interface BrokerLayout {
  stateDir: string;
  /** What `start` recorded: node name, ports, URLs (no secrets). */
  stateFile: string;
  configFile: string;
  advancedConfigFile: string;
  envFile: string;
  enabledPluginsFile: string;
  pidFile: string;
  mnesiaBase: string;
  logBase: string;
  /** stdout/stderr of the server process: where a failed boot says why. */
  startupLog: string;
  tlsDir: string;
  /** The server's AMQP login (0600). */
  credentialsFile: string;
  /** HOME of every RabbitMQ program run for this node: it holds the node's own .erlang.cookie. */
  homeDir: string;
}

export function brokerLayout(stateDir: string): BrokerLayout {
  const dir = resolve(stateDir);
  return {
    stateDir: dir,
    stateFile: join(dir, 'node.json'),
    configFile: join(dir, 'rabbitmq.conf'),
    advancedConfigFile: join(dir, 'advanced.config'),
    envFile: join(dir, 'rabbitmq-env.conf'),
    enabledPluginsFile: join(dir, 'enabled_plugins'),
    pidFile: join(dir, 'rabbitmq.pid'),
    mnesiaBase: join(dir, 'mnesia'),
    logBase: join(dir, 'log'),
    startupLog: join(dir, 'log', 'startup.log'),
    tlsDir: join(dir, 'tls'),
    credentialsFile: join(dir, 'service-credentials.json'),
    homeDir: dir,
  };
}

export function defaultNodeName(amqpsPort: number): string {
  return `iotcloud-${amqpsPort}@localhost`;
}

/** The environment for rabbitmq-server, rabbitmqctl and rabbitmq-diagnostics aimed at this node. */
export function brokerEnv(layout: BrokerLayout, nodeName: string, distPort: number): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    // The Elixir CLI complains without a UTF-8 locale.
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    // The cookie: server and CLI both read $HOME/.erlang.cookie, so a second node on the machine
    // has its own secret and never needs the machine node's cookie (or root's).
    HOME: layout.homeDir,
    // Our own env file: the machine's /etc/rabbitmq/rabbitmq-env.conf names rabbit@localhost.
    RABBITMQ_CONF_ENV_FILE: layout.envFile,
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_CONFIG_FILE: layout.configFile,
    RABBITMQ_ADVANCED_CONFIG_FILE: layout.advancedConfigFile,
    RABBITMQ_MNESIA_BASE: layout.mnesiaBase,
    RABBITMQ_LOG_BASE: layout.logBase,
    RABBITMQ_ENABLED_PLUGINS_FILE: layout.enabledPluginsFile,
    RABBITMQ_PID_FILE: layout.pidFile,
    RABBITMQ_DIST_PORT: String(distPort),
    // Erlang distribution (how rabbitmqctl reaches the node) stays on loopback.
    ERL_EPMD_ADDRESS: '127.0.0.1',
    // No scheduler busy-waiting: on a small machine shared with the server and the devices, a
    // spinning scheduler burns the CPU they need (and inflates the node's CPU figures).
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none',
  };
}
