/** `iotcloud`: one command, every part of the toolkit as a subcommand. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { brokerCommand } from './commands/broker.ts';
import { bridgeCommand } from './commands/bridge.ts';
import { clientCommands } from './commands/client.ts';
import { demoCommand } from './commands/demo.ts';
import { fleetCommand } from './commands/fleet.ts';
import { harnessCommand } from './commands/harness.ts';
import { simCommand } from './commands/sim.ts';
import { upCommand } from './commands/up.ts';
import { UsageError } from './usage-error.ts';

const cli = yargs(hideBin(process.argv))
  .scriptName('iotcloud')
  .usage('$0 <command> [options]\n\nBuild and test MCU devices (FT900 first) against a self-hosted IoT cloud.')
  .command(upCommand)
  .command(demoCommand)
  .command(clientCommands)
  .command(simCommand)
  .command(fleetCommand)
  .command(harnessCommand)
  .command(brokerCommand)
  .command(bridgeCommand)
  .demandCommand(1, 'name a command; `iotcloud --help` lists them')
  .strict()
  .recommendCommands()
  .wrap(Math.min(110, process.stdout.columns ?? 110))
  .fail((message, error, y) => {
    if (error && !(error instanceof UsageError)) {
      console.error(`iotcloud: ${error.message}`);
      process.exit(1);
    }
    console.error(`iotcloud: ${message ?? error?.message}\n`);
    console.error(y.help());
    process.exit(2);
  });

await cli.parseAsync();
