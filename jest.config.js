// Two projects: Node-side and isomorphic code in a Node environment, the JupyterLab extension in jsdom.
// TypeScript is stripped by @swc/jest (types are checked by `npm run typecheck`).
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', tsx: true },
      target: 'es2022',
      transform: { react: { runtime: 'classic' } },
    },
    module: { type: 'commonjs' },
  },
];

// Built copies of the package (labextension, test app) would collide with it by name.
const modulePathIgnorePatterns = ['<rootDir>/jupyterlab_canfar/labextension/', '<rootDir>/ui-tests/'];

// JupyterLab and lumino ship ES modules: they are transformed too in the lab project.
const esmPackages = [
  '@jupyterlab',
  '@jupyter',
  '@lumino',
  '@codemirror',
  '@lezer',
  '@microsoft',
  'exenv-es6',
  'lib0',
  'y-protocols',
  'yjs',
  'nanoid',
  'vscode-ws-jsonrpc',
  'marked',
  'color',
  'd3-color',
];

module.exports = {
  projects: [
    {
      displayName: 'node',
      testEnvironment: 'node',
      modulePathIgnorePatterns,
      transform: { '^.+\\.(t|j)sx?$': swc },
      testMatch: [
        '<rootDir>/src/{distributed,skaha,convert,batch,node}/**/*.spec.ts',
        '<rootDir>/test/**/*.spec.ts',
      ],
    },
    {
      displayName: 'lab',
      // JupyterLab's own jsdom environment (fetch, Headers, Response) and shims (DragEvent, Range...).
      testEnvironment: '@jupyterlab/testing/lib/jest-env.js',
      transform: { '^.+\\.(t|j)sx?$': swc, '\\.svg$': '@jupyterlab/testing/lib/jest-raw-loader.js' },
      transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
      moduleNameMapper: { '\\.(css|less)$': '<rootDir>/test/style-stub.js' },
      setupFiles: ['@jupyterlab/testing/lib/jest-shim.js', '<rootDir>/test/lab-setup.js'],
      modulePathIgnorePatterns,
      testMatch: ['<rootDir>/src/lab/**/*.spec.ts', '<rootDir>/src/lab/**/*.spec.tsx'],
    },
  ],
};
