// @ts-check
// Lint: typescript-eslint's strict, type-checked rules (they read the types tsc sees), with
// formatting left to Prettier (eslint-config-prettier turns off the rules it would fight).
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier/flat';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', '.data/', 'coverage/', 'test/fixtures/', 'bench/results/', '.build-test-*/'] },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Numbers read as themselves in messages and paths (`${port}`, `${size} bytes`).
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // `(line) => lines.push(line)`-style callbacks read as a call; their value goes nowhere anyway.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // `const { omitted: _, ...rest } = value` is how a copy without some keys is written.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      // A caught error passed on as it is (unknown by nature), as only-throw-error allows rethrowing it.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    // Fastify plugins, hooks and handlers are async by contract: a throw in one is how an error reaches the error handler.
    files: ['src/api/**'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  {
    // Plain JavaScript (this file, a helper script the tests spawn): outside tsconfig, no types to check.
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  prettier,
);
