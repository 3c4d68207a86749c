import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { consumers, entryOnly, forbiddenFor, modules, testkit } from './layers.config.js';

/** A relative import that climbs out of the folder and into `target/` (the modules are top-level folders). */
const into = (target) => `^(\\.\\./)+${target}(/|$)`;

/** no-restricted-imports for the files of one module: the layer table of layers.config.js. */
function layerRule(from) {
  const patterns = forbiddenFor(from).map((target) => ({
    regex: into(target),
    message: `${from}/ must not import ${target}/: modules depend downwards only (layers.config.js, docs/architecture.md).`,
  }));
  for (const target of entryOnly.filter((target) => target !== from)) {
    patterns.push({
      regex: `^(\\.\\./)+${target}/(?!index\\.ts$)`,
      message: `import ${target}/ through ${target}/index.ts, not its files (docs/architecture.md).`,
    });
  }
  return { files: [`${from}/**/*.ts`, `${from}/**/*.js`], rules: { 'no-restricted-imports': ['error', { patterns }] } };
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'var/**', 'console/dist/**', 'ft900/firmware/build/**', 'reports/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...[...modules, testkit, ...consumers].map(layerRule),
);
