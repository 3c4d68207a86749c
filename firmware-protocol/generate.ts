/**
 * Writes every file derived from the protocol spec (`npm run generate`), or with `--check`
 * reports the stale ones and exits 1.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedFiles } from './generators/index.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function staleGeneratedFiles(): Promise<string[]> {
  const stale: string[] = [];
  for (const [path, text] of generatedFiles()) {
    const current = await readFile(join(root, path), 'utf8').catch(() => undefined);
    if (current !== text) stale.push(path);
  }
  return stale;
}

async function main(): Promise<void> {
  if (process.argv.includes('--check')) {
    const stale = await staleGeneratedFiles();
    if (stale.length > 0) {
      console.error(`stale generated files (run npm run generate):\n  ${stale.join('\n  ')}`);
      process.exit(1);
    }
    console.log('generated files are up to date');
    return;
  }
  for (const [path, text] of generatedFiles()) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
    console.log(`wrote ${path}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
