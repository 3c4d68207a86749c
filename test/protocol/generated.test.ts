import { describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { staleGeneratedFiles } from '../../firmware-protocol/generate.ts';
import { commandNames, errorCodes, requestFields } from '../../firmware-protocol/index.ts';

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

  it('the C core and the Python example take their request fields from the generated tables, not from copies', async () => {
    const header = await readFile('ft900/firmware/include/iotcloud_protocol.h', 'utf8');
    const table = await readFile('examples/python/protocol_table.py', 'utf8');
    for (const name of commandNames) {
      for (const [index, field] of requestFields(name).entries()) {
        expect(header).toContain(`X(IOT_CMD_${name.toUpperCase()}, ${index}, "${field.name}", IOT_FIELD_${field.kind.toUpperCase()})`);
      }
      expect(table).toContain(`"${name}": (${requestFields(name).map((f) => `("${f.name}", "${f.kind}"), `).join('').trimEnd()})`);
    }
    const protocolC = await readFile('ft900/firmware/src/protocol.c', 'utf8');
    expect(protocolC).toContain('IOT_REQUEST_FIELD_LIST(IOT_X_FIELD)');
    expect(protocolC).not.toMatch(/\{"number", /); // no hand-copied field table
    const board = await readFile('examples/python/board.py', 'utf8');
    expect(board).toContain('from protocol_table import');
    expect(board).not.toMatch(/"get_gpio": \(\("number"/);
  });
});
