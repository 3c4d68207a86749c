/**
 * Cases generated from the protocol spec (the `commands` table): each command's example, the
 * boundary values of every request field, and invalid variants of every field. Adding a command
 * or changing a limit in firmware-protocol/ changes these cases with no edit here.
 */
import { commandNames, commands, restartingCommands, type CommandName } from '../../firmware-protocol/index.ts';
import { commandSection, pass, sections, type ConformanceCase } from './case.ts';
import { expectInvalidParams, expectOk } from './expect.ts';

/** The JSON Schema facts of a request field that the generators use. */
interface FieldSchema {
  type?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  description?: string;
  anyOf?: { const?: unknown }[];
  const?: unknown;
}

interface Variant {
  /** Id suffix, e.g. `number-above-max`. */
  name: string;
  /** Human words, e.g. `number above 66`. */
  what: string;
  params: Record<string, unknown>;
}

/**
 * reset_device and set_status restart the device, so their examples are checked by the `reset.*`
 * cases, and their invalid-params cases run late (disruptiveInvalidParamCases): a device that
 * wrongly accepted one would restart, which must not disturb the cases before.
 */
const disruptive = new Set<CommandName>(restartingCommands);

function fieldsOf(command: CommandName): [string, FieldSchema][] {
  return Object.entries(commands[command].request.properties as Record<string, FieldSchema>);
}

function requiredOf(command: CommandName): string[] {
  return (commands[command].request as { required?: string[] }).required ?? [];
}

function exampleOf(command: CommandName): Record<string, unknown> {
  return { ...(commands[command].example.request as Record<string, unknown>) };
}

/** Limits on strings are in UTF-8 bytes when the spec says so (write_uart). */
const countsUtf8Bytes = (schema: FieldSchema): boolean => /UTF-8 bytes/.test(schema.description ?? '');

const literalsOf = (schema: FieldSchema): unknown[] | undefined =>
  schema.anyOf?.map((member) => member.const) ?? (schema.const === undefined ? undefined : [schema.const]);

export function boundaryVariants(command: CommandName): Variant[] {
  const variants: Variant[] = [];
  const with_ = (field: string, value: unknown) => ({ ...exampleOf(command), [field]: value });
  for (const [field, schema] of fieldsOf(command)) {
    if (schema.type === 'integer' && schema.minimum !== undefined && schema.maximum !== undefined) {
      variants.push({ name: `${field}-min`, what: `${field} = ${schema.minimum} (smallest allowed)`, params: with_(field, schema.minimum) });
      variants.push({ name: `${field}-max`, what: `${field} = ${schema.maximum} (largest allowed)`, params: with_(field, schema.maximum) });
    }
    if (schema.type === 'string' && schema.maxLength !== undefined) {
      const min = Math.max(1, schema.minLength ?? 0);
      variants.push({ name: `${field}-min-length`, what: `${field} of ${min} character(s)`, params: with_(field, 'x'.repeat(min)) });
      variants.push({ name: `${field}-max-length`, what: `${field} of ${schema.maxLength} ASCII characters`, params: with_(field, 'x'.repeat(schema.maxLength)) });
      if (countsUtf8Bytes(schema)) {
        const text = 'é'.repeat(Math.floor(schema.maxLength / 2));
        variants.push({ name: `${field}-max-utf8-bytes`, what: `${field} of ${Buffer.byteLength(text)} UTF-8 bytes in 2-byte characters`, params: with_(field, text) });
      }
    }
  }
  return variants;
}

export function invalidVariants(command: CommandName): (Variant & { field: string })[] {
  const variants: (Variant & { field: string })[] = [];
  const example = exampleOf(command);
  const add = (field: string, name: string, what: string, value: unknown) =>
    variants.push({ name: `${field}-${name}`, what, params: { ...example, [field]: value }, field: `/${field}` });

  for (const [field, schema] of fieldsOf(command)) {
    const literals = literalsOf(schema);
    if (schema.type === 'integer') {
      if (schema.minimum !== undefined) add(field, 'below-min', `${field} = ${schema.minimum - 1}, below the minimum ${schema.minimum}`, schema.minimum - 1);
      if (schema.maximum !== undefined) add(field, 'above-max', `${field} = ${schema.maximum + 1}, above the maximum ${schema.maximum}`, schema.maximum + 1);
      add(field, 'not-integer', `${field} = ${(schema.minimum ?? 0) + 0.5}, not an integer`, (schema.minimum ?? 0) + 0.5);
      add(field, 'wrong-type', `${field} as a string`, String(example[field] ?? schema.minimum ?? 0));
    } else if (literals) {
      const numeric = literals.filter((value): value is number => typeof value === 'number');
      const outside = numeric.length > 0 ? Math.max(...numeric) + 1 : 'not-a-valid-value';
      add(field, 'not-allowed', `${field} = ${JSON.stringify(outside)}, not one of ${literals.map((value) => JSON.stringify(value)).join(', ')}`, outside);
      add(field, 'wrong-type', `${field} as a ${numeric.length > 0 ? 'string' : 'number'}`, numeric.length > 0 ? String(numeric[numeric.length - 1]) : 1);
    } else if (schema.type === 'string') {
      if ((schema.minLength ?? 0) > 0) add(field, 'too-short', `${field} shorter than ${schema.minLength} character(s)`, 'x'.repeat(schema.minLength! - 1));
      if (schema.maxLength !== undefined) {
        add(field, 'too-long', `${field} of ${schema.maxLength + 1} characters, over the limit ${schema.maxLength}`, 'x'.repeat(schema.maxLength + 1));
        if (countsUtf8Bytes(schema)) {
          // Fewer characters than the limit, more bytes: catches firmware that counts characters.
          const text = 'é'.repeat(Math.floor(schema.maxLength / 2) + 1);
          add(field, 'too-many-utf8-bytes', `${field} of ${text.length} characters but ${Buffer.byteLength(text)} UTF-8 bytes`, text);
        }
      }
      add(field, 'wrong-type', `${field} as a number`, 42);
    }
  }
  for (const field of requiredOf(command)) {
    const params = { ...example };
    delete params[field];
    variants.push({ name: `${field}-missing`, what: `without the required field ${field}`, params, field: `/${field}` });
  }
  variants.push({ name: 'extra-field', what: 'with an unknown field "unexpected"', params: { ...example, unexpected: 1 }, field: '/unexpected' });
  return variants;
}

export function exampleCases(): ConformanceCase[] {
  return commandNames
    .filter((command) => !disruptive.has(command))
    .map((command) => ({
      id: `${command}.example`,
      description: `${command} with the spec's example parameters answers a valid ${command} result`,
      specSection: commandSection(command),
      required: true,
      async run(context) {
        const params = exampleOf(command);
        const answer = await expectOk(context, command, params);
        return answer.ok ? pass(`answered ${JSON.stringify(answer.result)}`) : answer.verdict;
      },
    }));
}

export function boundaryCases(): ConformanceCase[] {
  return commandNames
    .filter((command) => !disruptive.has(command))
    .flatMap((command) =>
      boundaryVariants(command).map((variant) => ({
        id: `${command}.boundary.${variant.name}`,
        description: `${command} with ${variant.what} is accepted`,
        specSection: sections.limits,
        required: true,
        async run(context) {
          const answer = await expectOk(context, command, variant.params);
          return answer.ok ? pass('accepted and echoed') : answer.verdict;
        },
      })),
    );
}

export function invalidParamCases(): ConformanceCase[] {
  return invalidCasesOf(commandNames.filter((command) => !disruptive.has(command)));
}

/** Invalid parameters for the commands that restart the device: run late, after the state cases. */
export function disruptiveInvalidParamCases(): ConformanceCase[] {
  return invalidCasesOf(commandNames.filter((command) => disruptive.has(command)));
}

function invalidCasesOf(names: CommandName[]): ConformanceCase[] {
  return names.flatMap((command) =>
      invalidVariants(command).map((variant) => ({
        id: `${command}.invalid.${variant.name}`,
        description: `${command} ${variant.what} is refused with INVALID_PARAMS and field "${variant.field}"`,
        specSection: sections.errors,
        required: true,
        run: (context) => expectInvalidParams(context, command, variant.params, variant.field),
      })),
    );
}
