import { commandNames } from '../commands.ts';
import { errorWireSchema, requestWireSchema, responseWireSchema } from './wire-schemas.ts';

/** firmware-protocol/schema/*.json: one file per message. */
export function jsonSchemaFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const write = (name: string, schema: unknown) => files.set(`firmware-protocol/schema/${name}`, `${JSON.stringify(schema, null, 2)}\n`);
  for (const name of commandNames) {
    write(`${name}.request.json`, requestWireSchema(name));
    write(`${name}.response.json`, responseWireSchema(name));
  }
  write('error.json', errorWireSchema());
  return files;
}
