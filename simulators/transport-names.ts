/** How a simulated device connects; on its own, so that the CLI's flags need none of the transports' code. */
export type TransportName = 'mqtt' | 'amqp091' | 'amqp10';
export const transportNames: readonly TransportName[] = ['mqtt', 'amqp091', 'amqp10'];
