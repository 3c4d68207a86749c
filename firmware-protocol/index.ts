/** The iotcloud device protocol: import everything from here. */
export * from './limits.ts';
export * from './errors.ts';
export * from './commands.ts';
export * from './request-fields.ts';
export * from './topics.ts';
export * from './codec.ts';
export * from './correlation.ts';
