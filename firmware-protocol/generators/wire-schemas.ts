/**
 * The wire form of every message as plain JSON Schema (draft 2020-12): the command's fields plus
 * the envelope fields (`cid`, `error`). TypeBox schemas already are JSON Schema; this adds the
 * envelope and drops TypeBox's private symbols.
 */
import { commands, ErrorBody, type CommandName } from '../commands.ts';
import { correlationIdPattern } from '../limits.ts';

export type JsonSchema = Record<string, unknown>;

const plain = (schema: unknown): JsonSchema => JSON.parse(JSON.stringify(schema)) as JsonSchema;

export const correlationIdSchema: JsonSchema = {
  type: 'string',
  pattern: correlationIdPattern,
  description: 'correlation id chosen by the server; a device echoes it unchanged in its answer',
};

const SCHEMA_BASE = 'https://iotcloud.dev/schema/';

export function requestWireSchema(name: CommandName): JsonSchema {
  const spec = plain(commands[name].request);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `${SCHEMA_BASE}${name}.request.json`,
    title: `${name} request`,
    description: commands[name].summary,
    ...spec,
    properties: { cid: correlationIdSchema, ...(spec.properties as JsonSchema) },
  };
}

export function errorWireSchema(): JsonSchema {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `${SCHEMA_BASE}error.json`,
    title: 'error answer',
    description: 'What a device sends instead of a result when it cannot run a command.',
    type: 'object',
    required: ['error'],
    properties: { cid: correlationIdSchema, error: plain(ErrorBody) },
  };
}

export function responseWireSchema(name: CommandName): JsonSchema {
  const spec = plain(commands[name].response);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `${SCHEMA_BASE}${name}.response.json`,
    title: `${name} response`,
    oneOf: [
      { ...spec, properties: { cid: correlationIdSchema, ...(spec.properties as JsonSchema) } },
      { $ref: `${SCHEMA_BASE}error.json` },
    ],
  };
}
