/**
 * The project-owned RabbitMQ node: start, stop and inspect it, and what the server needs to use
 * it as its device bus. Import from here (the CLI wires it to server/bus/rabbitmq.ts).
 */
export {
  brokerAuthNodeUser,
  brokerConnection,
  brokerStatus,
  defaultBrokerPorts,
  defaultStateDir,
  nodeAddress,
  readServiceCredentials,
  serviceUsername,
  startBrokerNode,
  stopBrokerNode,
  type BrokerConnection,
  type BrokerNode,
  type BrokerNodeOptions,
  type BrokerStatus,
  type BrokerTls,
  type ServiceCredentials,
} from './node.ts';
export { rabbitmqctlControl, type RabbitmqctlControl } from './control.ts';
