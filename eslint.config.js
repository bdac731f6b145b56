import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['**/dist/**', '**/node_modules/**', '.nx/**', 'coverage/**'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // One tfjs engine per process: only @rmt/backend may import TensorFlow.js (CONTRIBUTING.md, "Layout and rules").
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@tensorflow/*'],
              message: 'Only packages/backend imports TensorFlow.js; take `tf` from @rmt/backend.',
            },
          ],
        },
      ],
    },
  },
  {
    // Plain-JS launchers and tools run on Node.
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        performance: 'readonly',
      },
    },
  },
  {
    // CommonJS install scripts (npm runs them before any build).
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { process: 'readonly', console: 'readonly', require: 'readonly', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['packages/backend/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // @rmt/core is the bottom of the graph: no tensor library and no other RMT package (its tests included).
    files: ['packages/core/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@tensorflow/*'],
              message: '@rmt/core is tensor-free: tensor code belongs in @rmt/model or @rmt/backend.',
            },
            { group: ['@rmt/*'], message: '@rmt/core depends on no other RMT package.' },
          ],
        },
      ],
    },
  },
);
