import { cHeaderFiles } from './c-header.ts';
import { commandNameFiles } from './command-names.ts';
import { jsonSchemaFiles } from './json-schema.ts';
import { markdownFiles } from './markdown.ts';
import { pythonTableFiles } from './python-table.ts';

/** Every generated file, path (relative to the repository root) -> exact contents. */
export function generatedFiles(): Map<string, string> {
  return new Map([...jsonSchemaFiles(), ...markdownFiles(), ...cHeaderFiles(), ...pythonTableFiles(), ...commandNameFiles()]);
}
