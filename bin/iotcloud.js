#!/usr/bin/env node
// Entry point of the `iotcloud` command. The project is TypeScript run through tsx, so there is
// no build step between editing a file and running it.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
