/**
 * The module layers, bottom first: a module may import from the layers below its own, never from
 * its own layer's other modules or from above. eslint.config.js turns this table into
 * no-restricted-imports rules (so `npm run check` fails on a wrong import), docs/architecture.md
 * draws it, and test/architecture/layers.test.ts checks the rules against it.
 */
export const layers = [
  ['firmware-protocol'], // the device protocol: commands, codec, topics, limits; generates the C header
  ['certs'], // the platform CA, device and server certificates
  ['device-link'], // what devices and bridges share: connection core, transports, back-off, credentials
  ['rest-client'], // the one client of the REST API
  ['server', 'broker', 'simulators', 'ft900', 'harness'], // the parts; none imports another
  ['cli'], // the `iotcloud` command: the only place that wires parts together
];

/** Support code for tests and benchmarks: may import every module, never test/ or bench/. */
export const testkit = 'testkit';

/** Consumers: they may import every module and testkit/, never each other. */
export const consumers = ['test', 'bench'];

/** Modules that are imported through their index.ts only (their files are free to move). */
export const entryOnly = ['device-link', 'rest-client'];

/** Every module, bottom first. */
export const modules = layers.flat();

/** The modules `from` must not import (from its own layer and above, plus testkit and consumers). */
export function forbiddenFor(from) {
  if (from === testkit) return [...consumers];
  if (consumers.includes(from)) return consumers.filter((other) => other !== from);
  const level = layers.findIndex((layer) => layer.includes(from));
  if (level < 0) throw new Error(`${from} is in no layer of layers.config.js`);
  const above = layers.slice(level + 1).flat();
  const peers = layers[level].filter((other) => other !== from);
  return [...peers, ...above, testkit, ...consumers];
}
