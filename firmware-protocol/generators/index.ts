import { cHeaderFiles } from './c-header.ts';
import { jsonSchemaFiles } from './json-schema.ts';
import { markdownFiles } from './markdown.ts';

/** Every generated file, path (relative to the repository root) -> exact contents. */
export function generatedFiles(): Map<string, string> {
  return new Map([...jsonSchemaFiles(), ...markdownFiles(), ...cHeaderFiles()]);
}
