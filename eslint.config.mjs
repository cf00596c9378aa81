import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// The import rules of ARCHITECTURE.md: isomorphic code imports neither Node nor the DOM world;
// lab never imports node or undici; node never imports lab or @jupyterlab.
const nodeBuiltins = [
  'node:*',
  'fs',
  'fs/*',
  'path',
  'os',
  'child_process',
  'http',
  'https',
  'net',
  'tls',
  'crypto',
  'stream',
  'url',
  'util',
  'events',
  'zlib',
  'worker_threads',
  'process',
];
// `patterns` are gitignore-style (a group 'x' also matches 'x/sub'); `paths` match one module name exactly.
const restrict = (patterns, paths = []) => ({
  'no-restricted-imports': [
    'error',
    { paths, patterns: patterns.map((group) => ({ group: group.group, message: group.message })) },
  ],
});
// Exact names, so that zod/mini (the browser form) stays allowed.
const fullZod = ['zod', 'zod/v4', 'zod/v3'].map((name) => ({
  name,
  message: 'Use zod/mini in browser code (bundle size).',
}));

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'lib/',
      'dist/',
      'jupyterlab_canfar/labextension/',
      'ui-tests/app/node_modules/',
      'ui-tests/app/build/',
      'ui-tests/app/src/*.generated.*',
      'ui-tests/test-results/',
      'ui-tests/playwright-report/',
      'coverage/',
      '.canfar/',
      '**/canfar-batches/',
      'test/fixtures/',
      '**/*.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.es2022 } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'smart'],
      'no-console': 'off',
    },
  },
  {
    files: ['src/{distributed,skaha,convert,batch}/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: restrict([
      { group: nodeBuiltins, message: 'Isomorphic code must not import Node built-ins (ARCHITECTURE.md).' },
      {
        group: ['undici', '@jupyterlab/*', '@lumino/*', '**/node/**', '**/lab/**', '../node', '../lab'],
        message: 'Isomorphic code imports only isomorphic modules (ARCHITECTURE.md).',
      },
    ]),
  },
  {
    files: ['src/lab/**/*.{ts,tsx}'],
    ignores: ['**/*.spec.ts', '**/*.spec.tsx'],
    rules: restrict(
      [
        {
          group: [...nodeBuiltins, 'undici', '**/node/**', '../node'],
          message: 'src/lab runs in the browser: no Node modules, no undici, no src/node (ARCHITECTURE.md).',
        },
      ],
      fullZod,
    ),
  },
  {
    files: ['src/node/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: restrict([
      {
        group: ['@jupyterlab/*', '**/lab/**', '../lab'],
        message: 'src/node never imports src/lab or @jupyterlab (ARCHITECTURE.md).',
      },
    ]),
  },
  {
    files: [
      'src/node/**/*.ts',
      'bench/**/*.ts',
      'test/**/*.{ts,js}',
      'scripts/**/*.{js,mjs,cjs}',
      'bin/**/*.js',
      '*.{js,mjs,cjs}',
      'ui-tests/**/*.{ts,js,mjs}',
      '**/*.spec.ts',
    ],
    languageOptions: { globals: { ...globals.node, ...globals.jest } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/lab/**/*.{ts,tsx}', 'ui-tests/app/src/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
