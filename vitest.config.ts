import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real brokers, servers and serial lines: give them room, and run
    // files in separate processes so a port or a global never leaks between them.
    pool: 'forks',
    // Two files at a time: most of a file's time is spent waiting on servers, nodes and emulators,
    // and every test allocates its own ports, data folders, schemas and databases.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
