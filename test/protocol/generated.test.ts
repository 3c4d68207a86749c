import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { staleGeneratedFiles } from '../../firmware-protocol/generate.ts';
import { commandNames, errorCodes } from '../../firmware-protocol/index.ts';

describe('generated files', () => {
  it('are up to date with the spec (run `npm run generate` when this fails)', async () => {
    expect(await staleGeneratedFiles()).toEqual([]);
  });

  it('docs/protocol.md documents every command and every error code', async () => {
    const doc = await readFile('docs/protocol.md', 'utf8');
    for (const name of commandNames) expect(doc).toContain(`### \`${name}\``);
    for (const name of Object.keys(errorCodes)) expect(doc).toContain(`\`${name}\``);
  });

  it('the C header names every command and error', async () => {
    const header = await readFile('ft900/firmware/include/iotcloud_protocol.h', 'utf8');
    for (const name of commandNames) expect(header).toContain(`"${name}"`);
    for (const [name, code] of Object.entries(errorCodes)) expect(header).toContain(`X(IOT_ERR_${name}, ${code},`);
  });
});
