/**
 * Every command's request fields in schema order (the order JSON Schema reports a missing or a
 * wrong field in), each with its kind: the table devices validate requests from. Derived from
 * commands.ts; the C header and the Python example get it generated.
 */
import { commandNames, commands, requestFieldKinds, type CommandName } from './commands.ts';

export interface RequestField {
  name: string;
  /** Which check validates it: `gpio_number`, `gpio_level`, `epoch_seconds`, `uart_data`, ... */
  kind: string;
}

export function requestFields(command: CommandName): RequestField[] {
  const properties = commands[command].request.properties as Record<string, Parameters<typeof requestFieldKinds.get>[0]>;
  return Object.entries(properties).map(([name, schema]) => {
    const kind = requestFieldKinds.get(schema);
    if (kind === undefined) {
      throw new Error(`${command}.${name}: a request field of a type with no kind; add its schema to requestFieldKinds (firmware-protocol/commands.ts) and a check for the kind to every device (docs/adding-a-command.md)`);
    }
    return { name, kind };
  });
}

/** Every kind a device must check, in table order. */
export function requestFieldKindNames(): string[] {
  return [...new Set(requestFieldKinds.values())];
}

/** The most fields any command's request has. */
export function maxRequestFields(): number {
  return Math.max(...commandNames.map((command) => requestFields(command).length));
}
