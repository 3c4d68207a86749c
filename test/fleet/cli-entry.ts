/**
 * `iotcloud fleet` for the tests, wired as cli/main.ts wires a command (same yargs setup and
 * failure handling), so the command runs in its own process and receives real signals.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { fleetCommand } from '../../cli/commands/fleet.ts';
import { UsageError } from '../../cli/usage-error.ts';

await yargs(hideBin(process.argv))
  .scriptName('iotcloud')
  .command(fleetCommand)
  .demandCommand(1)
  .strict()
  .fail((message, error) => {
    console.error(`iotcloud: ${message ?? error?.message}`);
    process.exit(error && !(error instanceof UsageError) ? 1 : 2);
  })
  .parseAsync();
