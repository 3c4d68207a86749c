/**
 * The layer rules of eslint.config.js, checked against their table (layers.config.js): lint a
 * file placed in each module that imports each other module, and expect an error exactly where
 * the table forbids one. A wrong import therefore fails `npm run check`.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';
import { consumers, entryOnly, forbiddenFor, layers, modules, testkit } from '../../layers.config.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const everyone: string[] = [...modules, testkit, ...consumers];
let eslint: ESLint;

/** The restricted-import messages ESLint gives `code` as if it were the file `path` (relative to the root). */
async function restrictions(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${path}` });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

beforeAll(() => {
  eslint = new ESLint({ cwd: root });
});

describe('module layers', () => {
  it('a deliberate upward import fails lint, with a message naming the rule', async () => {
    const messages = await restrictions('broker/fixture.ts', "import { defaultConfig } from '../server/config.ts';\nexport const port = defaultConfig.apiPort;\n");
    expect(messages).toEqual([expect.stringContaining('broker/ must not import server/')]);
  });

  it('the same import is allowed one layer up (cli/ wires the parts)', async () => {
    expect(await restrictions('cli/fixture.ts', "import { defaultConfig } from '../server/config.ts';\nexport const port = defaultConfig.apiPort;\n")).toEqual([]);
  });

  it('forbids exactly what the table forbids, for every pair of modules and from any depth', async () => {
    const wrong: string[] = [];
    for (const from of everyone) {
      const forbidden = new Set(forbiddenFor(from));
      for (const to of everyone.filter((other) => other !== from)) {
        for (const path of [`${from}/fixture.ts`, `${from}/deeper/fixture.ts`]) {
          const up = '../'.repeat(path.split('/').length - 1);
          const messages = await restrictions(path, `import '${up}${to}/index.ts';\n`);
          if ((messages.length > 0) !== forbidden.has(to)) wrong.push(`${path} -> ${to}: ${messages.length > 0 ? 'refused' : 'allowed'}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the lower layers never see the upper ones, and parts never see each other', () => {
    expect(forbiddenFor('firmware-protocol')).toEqual(expect.arrayContaining(modules.slice(1)));
    expect(forbiddenFor('simulators')).toEqual(expect.arrayContaining(['server', 'broker', 'ft900', 'harness', 'cli', testkit, ...consumers]));
    expect(forbiddenFor('bench')).toEqual(['test']);
    expect(forbiddenFor('cli')).not.toContain('server');
    expect(layers.at(-1)).toEqual(['cli']);
  });

  it('device-link/ and rest-client/ are imported through their index only', async () => {
    for (const module of entryOnly) {
      expect(await restrictions('simulators/fixture.ts', `import '../${module}/index.ts';\n`)).toEqual([]);
      expect(await restrictions('simulators/fixture.ts', `import '../${module}/some-file.ts';\n`)).toEqual([expect.stringContaining(`through ${module}/index.ts`)]);
    }
  });

  it('every top-level folder of TypeScript is in the table (a new module cannot dodge the rules)', () => {
    const skip = new Set(['node_modules', 'bin', 'scripts', 'examples', 'docs', 'var', 'reports', 'dist']);
    const folders = readdirSync(root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && !skip.has(entry.name))
      .map((entry) => entry.name);
    expect(folders.filter((folder) => !everyone.includes(folder))).toEqual([]);
  });
});
