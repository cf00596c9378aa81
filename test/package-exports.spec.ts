import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// The package as a consumer sees it: a plain node process in another directory, resolving
// `jupyterlab-canfar/...` through node_modules (a symlink to this repository) and package.json "exports".
// It needs the build (`npm run build:node`); without dist/ there is nothing to check yet.
const repo = resolve(__dirname, '..');
const built =
  existsSync(join(repo, 'dist', 'distributed', 'index.cjs')) &&
  existsSync(join(repo, 'dist', 'node', 'index.cjs'));
const describeBuilt = built ? describe : describe.skip;

describeBuilt('package exports (from dist/)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'canfar-consumer-'));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(repo, join(dir, 'node_modules', 'jupyterlab-canfar'), 'dir');
    writeFileSync(join(dir, 'package.json'), '{"name":"consumer","private":true}\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const node = (args: string[]) =>
    execFileSync(process.execPath, args, {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    }).trim();

  it('require("jupyterlab-canfar/distributed") gives working chunk and stripe', () => {
    const out = node([
      '-e',
      `const d = require('jupyterlab-canfar/distributed');
       const items = [0,1,2,3,4,5,6,7,8,9];
       console.log(JSON.stringify([d.chunk(items, 3, 3), [...d.stripe(items, 1, 3)]]));`,
    ]);
    expect(JSON.parse(out)).toEqual([
      [6, 7, 8, 9],
      [0, 3, 6, 9],
    ]);
  });

  it('import("jupyterlab-canfar/distributed") from an ES module works the same', () => {
    const script = join(dir, 'consumer.mjs');
    writeFileSync(
      script,
      `import { chunk, stripe } from 'jupyterlab-canfar/distributed';
       const items = [0,1,2,3,4,5,6,7,8,9];
       console.log(JSON.stringify([chunk(items, 1, 3), [...stripe(items, 2, 3)]]));\n`,
    );
    expect(JSON.parse(node([script]))).toEqual([
      [0, 1, 2],
      [1, 4, 7],
    ]);
  });

  it('the Node module loads both ways and exposes connect and the transport', () => {
    const cjs = node([
      '-e',
      `const n = require('jupyterlab-canfar/node'); console.log([typeof n.connect, typeof n.createNodeTransport, typeof n.discoverCredentials].join())`,
    ]);
    expect(cjs).toBe('function,function,function');
    const script = join(dir, 'node-consumer.mjs');
    writeFileSync(
      script,
      `import { connect, chunk } from 'jupyterlab-canfar/node';\nconsole.log(typeof connect, typeof chunk);\n`,
    );
    expect(node([script])).toBe('function function');
  });
});

if (!built) {
  it.skip('package exports: run `npm run build:node` first', () => undefined);
}
