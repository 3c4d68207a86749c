/**
 * Command forms come from the protocol spec: the JSON Schema files firmware-protocol generates
 * (one request and one response schema per command), bundled at build time. The same schemas
 * check a form before it is sent and an answer when it comes back.
 */
export interface JsonSchema {
  type?: 'object' | 'integer' | 'number' | 'string' | 'boolean';
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  const?: unknown;
  anyOf?: JsonSchema[];
}

const requests = import.meta.glob<JsonSchema>('../../firmware-protocol/schema/*.request.json', { eager: true, import: 'default' });
const responses = import.meta.glob<JsonSchema>('../../firmware-protocol/schema/*.response.json', { eager: true, import: 'default' });

export interface CommandForm {
  name: string;
  summary: string;
  request: JsonSchema;
  response: JsonSchema | undefined;
  fields: Field[];
}

export interface Field {
  name: string;
  schema: JsonSchema;
  required: boolean;
  /** For a union of constants: the choices. */
  choices?: unknown[];
}

const nameOf = (path: string) => /([a-z_]+)\.(request|response)\.json$/.exec(path)![1]!;

export const commandForms: CommandForm[] = Object.entries(requests)
  .map(([path, request]) => {
    const name = nameOf(path);
    const response = Object.entries(responses).find(([other]) => nameOf(other) === name)?.[1];
    const fields = Object.entries(request.properties ?? {})
      .filter(([field]) => field !== 'cid') // the server chooses the correlation id
      .map(([field, schema]): Field => ({
        name: field,
        schema,
        required: (request.required ?? []).includes(field),
        ...(schema.anyOf?.every((option) => 'const' in option) ? { choices: schema.anyOf.map((option) => option.const) } : {}),
      }));
    return { name, summary: request.description ?? name, request, response, fields };
  })
  .sort((a, b) => a.name.localeCompare(b.name));

const utf8Bytes = (text: string) => new TextEncoder().encode(text).length;

/** Why `value` does not match `schema`, naming the field; undefined when it does. */
export function problemWith(schema: JsonSchema, value: unknown, at = ''): string | undefined {
  const where = at || 'the value';
  if (schema.anyOf) {
    return schema.anyOf.some((option) => problemWith(option, value, at) === undefined) ? undefined : `${where} must be one of ${schema.anyOf.map((option) => JSON.stringify(option.const ?? option.type)).join(', ')}`;
  }
  if ('const' in schema && value !== schema.const) return `${where} must be ${JSON.stringify(schema.const)}`;
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${where} must be an object`;
      const record = value as Record<string, unknown>;
      for (const field of schema.required ?? []) if (!(field in record)) return `${at}/${field} is missing`;
      for (const [field, fieldValue] of Object.entries(record)) {
        const fieldSchema = schema.properties?.[field];
        if (!fieldSchema) {
          if (schema.additionalProperties === false) return `${at}/${field} is not allowed`;
          continue;
        }
        const problem = problemWith(fieldSchema, fieldValue, `${at}/${field}`);
        if (problem) return problem;
      }
      return undefined;
    }
    case 'integer':
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value) || (schema.type === 'integer' && !Number.isInteger(value))) return `${where} must be ${schema.type === 'integer' ? 'a whole number' : 'a number'}`;
      if (schema.minimum !== undefined && value < schema.minimum) return `${where} must be at least ${schema.minimum}`;
      if (schema.maximum !== undefined && value > schema.maximum) return `${where} must be at most ${schema.maximum}`;
      return undefined;
    case 'string':
      if (typeof value !== 'string') return `${where} must be text`;
      if (schema.minLength !== undefined && value.length < schema.minLength) return `${where} must not be empty`;
      if (schema.maxLength !== undefined && utf8Bytes(value) > schema.maxLength) return `${where} must be at most ${schema.maxLength} bytes`;
      if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) return `${where} is not in the expected form (${schema.description ?? schema.pattern})`;
      return undefined;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `${where} must be true or false`;
    default:
      return undefined;
  }
}

/** The request body from a form's text inputs, or the first problem with them. */
export function requestFrom(form: CommandForm, inputs: Record<string, string>): { body: Record<string, unknown> } | { problem: string; field?: string } {
  const body: Record<string, unknown> = {};
  for (const field of form.fields) {
    const text = (inputs[field.name] ?? '').trim();
    if (text === '') {
      if (field.required) return { problem: `${field.name} is required`, field: field.name };
      continue;
    }
    const numeric = field.schema.type === 'integer' || field.schema.type === 'number' || field.choices?.every((choice) => typeof choice === 'number');
    if (numeric) {
      if (!/^-?\d+(\.\d+)?$/.test(text)) return { problem: `${field.name} must be a number`, field: field.name };
      body[field.name] = Number(text);
    } else body[field.name] = field.schema.type === 'string' ? (inputs[field.name] ?? '') : text;
  }
  const problem = problemWith(form.request, body);
  if (problem) return { problem: problem.replace(/^\//, ''), field: /^\/([a-z_]+)/.exec(problem)?.[1] };
  return { body };
}
