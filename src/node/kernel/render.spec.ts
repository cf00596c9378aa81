// How results show in each kernel, with the kernels' own mechanisms stood in for: Deno's
// `Deno.jupyter.display` and `Symbol.for('Jupyter.display')`, tslab's writer (found in Node's module
// cache as its dist/jupyter.js), ijavascript's `$$` (`_toMime`, `$$.display(id).mime()`), and plain node.
import { inspect } from 'node:util';

import type { BatchView } from '../../batch';
import type { Session } from '../../skaha';
import { display, kernelKind, liveDisplay } from './display';
import { escapeHtml, htmlTable, JUPYTER_DISPLAY, mimeBundleOf, textTable, type MimeBundle } from './render';
import { BatchStatus, LaunchResult, LogText, SessionTable } from './results';

const hostile = '<script>alert("x")</script> & \'quoted\'';

const session = (over: Partial<Session> = {}): Session => ({
  id: 'abc123',
  name: 'sweep-1',
  image: 'images.canfar.net/skaha/astroml:latest',
  type: 'headless',
  status: 'Running',
  startTime: new Date('2026-01-02T03:04:05.678Z'),
  requestedCPUCores: 2,
  raw: { secret: 'raw JSON stays out of outputs' },
  ...over,
});

function batchView(states: ('completed' | 'running' | 'failed')[]): BatchView {
  const replicas = states.map((state, i) => ({
    replica: i + 1,
    name: `nb-x1y2-${i + 1}`,
    sessionId: `s${i + 1}`,
    state,
    cleanedUp: false,
    ...(state === 'failed'
      ? { exitCode: 1, failure: { cell: 3, error: `Error: ${hostile}`, tail: [] } }
      : {}),
  }));
  const count = (s: string) => states.filter((x) => x === s).length;
  return {
    batchId: '20260102-030405-x1y2',
    name: 'nb-x1y2',
    folder: '/work/canfar-batches/20260102-030405-x1y2',
    manifest: {
      notebook: { path: `dir/${hostile}.ipynb`, sha256: '', language: 'javascript' },
      image: 'images.canfar.net/skaha/astroml:latest',
      submittedAt: '2026-01-02T03:04:05.000Z',
    } as BatchView['manifest'],
    counts: {
      total: states.length,
      launching: 0,
      queued: 0,
      requeued: 0,
      pending: 0,
      running: count('running'),
      completed: count('completed'),
      failed: count('failed'),
      outputMissing: 0,
      cancelled: 0,
      cleanedUp: 0,
      pullErrors: 0,
    },
    phase: count('running') === 0 ? 'done' : 'running',
    done: count('running') === 0,
    replicas,
  };
}

type Globals = Record<string, unknown>;
const g = globalThis as unknown as Globals;

afterEach(() => {
  delete g.Deno;
  delete g.__tslab__;
  delete g.$$;
});

describe('HTML, JSON and text of results', () => {
  test('every value is escaped in HTML; text and JSON keep it as it is', () => {
    expect(escapeHtml(hostile)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;',
    );
    const table = SessionTable.list([session({ name: hostile, image: `img"><img src=x onerror=alert(1)>` })]);
    const bundle = table.mimeBundle();
    expect(bundle['text/html']).not.toMatch(/<script|<img|onerror=alert\(1\)>/);
    expect(bundle['text/html']).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(bundle['text/html']).toContain('<table data-canfar="sessions"');
    expect(bundle['text/plain']).toContain(hostile);
    const data = bundle['application/json'] as { sessions: Record<string, unknown>[] };
    expect(data.sessions[0]).toMatchObject({ name: hostile, startTime: '2026-01-02T03:04:05.678Z' });
    // The service's raw JSON is not repeated in outputs, and JSON.stringify gives the same data.
    expect(data.sessions[0].raw).toBeUndefined();
    expect(JSON.parse(JSON.stringify(table))).toEqual(data.sessions);
    // The JupyterLab extension's session list: the same sessions, and when they were listed.
    expect(bundle['application/vnd.canfar.sessions+json']).toEqual({
      version: 1,
      sessions: data.sessions,
      listedAt: table.listedAt.toISOString(),
    });
  });

  test('a table: one row per item, headers, dates to the second, "-" for nothing, right-aligned numbers', () => {
    const rows = [
      { a: 'x', n: 5, d: new Date('2026-01-02T03:04:05.678Z') },
      { a: 'longer', n: 12, d: undefined },
    ];
    const columns = [
      { header: 'A', value: (r: (typeof rows)[number]) => r.a },
      { header: 'N', value: (r: (typeof rows)[number]) => r.n, right: true },
      { header: 'WHEN', value: (r: (typeof rows)[number]) => r.d },
    ];
    expect(textTable(rows, columns)).toBe(
      ['A        N  WHEN', 'x        5  2026-01-02T03:04:05Z', 'longer  12  -'].join('\n'),
    );
    const html = htmlTable(rows, columns, { kind: 'demo', caption: 'two <rows>' });
    expect(html.match(/<tr>/g)).toHaveLength(3);
    expect(html).toContain(
      '<caption style="text-align:left;font-weight:bold;padding:2px 0">two &lt;rows&gt;</caption>',
    );
    expect(html).toContain('text-align:right">12</td>');
    expect(htmlTable([], columns, { kind: 'demo', empty: 'no rows' })).toContain('>no rows</td>');
  });

  test('a batch: per-replica table with the failing cell and error, escaped; JSON counts; one line once shown live', () => {
    const status = new BatchStatus(batchView(['completed', 'failed', 'running']), '/abs/folder');
    const bundle = status.mimeBundle();
    expect(bundle['text/html']).toContain('<table data-canfar="batch"');
    expect(bundle['text/html']).toContain('cell 3: Error: &lt;script&gt;');
    expect(bundle['text/html']).not.toContain('<script');
    expect(bundle['text/plain']).toMatch(/2\/3 done, 1 running, 0 pending, 1 failed/);
    expect(bundle['application/json']).toMatchObject({
      batchId: '20260102-030405-x1y2',
      done: false,
      counts: { total: 3, completed: 1, failed: 1 },
      folder: '/abs/folder',
    });
    expect((bundle['application/json'] as Record<string, unknown>).manifest).toBeUndefined();
    // What the JupyterLab extension follows live (the same data the Python magic writes).
    expect(bundle['application/vnd.canfar.batch+json']).toMatchObject({
      version: 1,
      batchId: '20260102-030405-x1y2',
      absoluteFolder: '/abs/folder',
      phase: 'running',
      counts: { total: 3, completed: 1, failed: 1 },
      replicas: [
        { replica: 1, state: 'completed' },
        { replica: 2, state: 'failed', failure: { cell: 3 } },
        { replica: 3, state: 'running' },
      ],
    });
    status.shownLive = true;
    const short = status.mimeBundle();
    // Shown live above already: not a second live output.
    expect(short['application/vnd.canfar.batch+json']).toBeUndefined();
    expect(short['text/plain']).toBe(
      'batch 20260102-030405-x1y2 (nb-x1y2): 2/3 done, 1 running, 0 pending, 1 failed',
    );
    expect(short['text/html']).not.toContain('<table');
  });

  test('launch outcomes: ids of launched replicas, failures with code and message', () => {
    const result = LaunchResult.list([
      { replica: 1, name: 'a-1', ok: true, sessionId: 's1', attempts: 1 },
      {
        replica: 2,
        name: 'a-2',
        ok: false,
        code: 'bad-request',
        status: 400,
        message: 'no <quota>',
        attempts: 1,
      },
    ]);
    expect(result.ids).toEqual(['s1']);
    expect(result.failed).toHaveLength(1);
    expect(result.mimeBundle()['text/plain']).toContain('bad-request 400: no <quota>');
    expect(result.mimeBundle()['text/html']).toContain('no &lt;quota&gt;');
    // map/filter give plain arrays, not half-built tables.
    expect(result.map((o) => o.replica)).toEqual([1, 2]);
    expect(Object.getPrototypeOf(result.filter(() => true))).toBe(Array.prototype);
  });
});

describe('the display protocol of each kernel', () => {
  const log = new LogText('s1', `line 1\n${hostile}\n`);

  test('Deno: Symbol.for("Jupyter.display") returns the bundle', () => {
    const bundle = (log as unknown as Record<symbol, () => MimeBundle>)[Symbol.for('Jupyter.display')]();
    expect(JUPYTER_DISPLAY).toBe(Symbol.for('Jupyter.display'));
    expect(bundle['text/html']).toBe(
      '<pre data-canfar="log" style="white-space:pre-wrap;margin:0">line 1\n&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;\n</pre>',
    );
    expect(bundle['application/json']).toEqual({ id: 's1', log: `line 1\n${hostile}\n` });
  });

  test('ijavascript: _toMime() returns the same bundle', () => {
    const mime = (log as unknown as { _toMime(): MimeBundle })._toMime();
    expect(mime).toEqual(log.mimeBundle());
  });

  test('plain node and tslab printing: util.inspect and String() give the text table', () => {
    const table = SessionTable.list([session()]);
    expect(inspect(table)).toBe(table.mimeBundle()['text/plain']);
    expect(String(table)).toMatch(/^1 session\(s\)\nID +NAME +KIND/);
    expect(`${log}`).toBe(`line 1\n${hostile}\n`);
    expect(kernelKind()).toBe('node');
  });

  test('plain node: display() prints the text, liveDisplay shows nothing (callers print)', async () => {
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await display(SessionTable.list([]));
      expect(write).toHaveBeenCalledWith('no sessions\n');
    } finally {
      write.mockRestore();
    }
    expect(await liveDisplay().show(log)).toBe(false);
  });

  test('Deno kernel: display ids, first display then updates, raw bundles', async () => {
    const calls: [unknown, unknown][] = [];
    g.Deno = {
      get jupyter() {
        return { display: async (value: unknown, options: unknown) => void calls.push([value, options]) };
      },
    };
    expect(kernelKind()).toBe('deno');
    const live = liveDisplay('d1');
    await live.show(new BatchStatus(batchView(['running']), '/f'));
    await live.show(new BatchStatus(batchView(['completed']), '/f'));
    expect(calls.map(([, options]) => options)).toEqual([
      { raw: true, display_id: 'd1', update: false },
      { raw: true, display_id: 'd1', update: true },
    ]);
    expect((calls[1][0] as MimeBundle)['application/json']).toMatchObject({ done: true });
  });

  test('outside `deno jupyter`, Deno.jupyter throws: not taken for a kernel', () => {
    g.Deno = {
      get jupyter() {
        throw new Error('Deno.jupyter is only available in `deno jupyter` subcommand');
      },
    };
    expect(kernelKind()).toBe('node');
  });

  test("tslab: the whole bundle through tslab's own writer, update flag on the second show", async () => {
    const writes: [unknown, unknown][] = [];
    // The kernel's own module, as Node's module cache holds it in a tslab process (jest has its own cache).
    const fake = '/opt/kernels/node_modules/tslab/dist/jupyter.js';
    const cache = {
      [fake]: {
        exports: {
          lastWriteDisplayData: (content: unknown, update: unknown) => writes.push([content, update]),
        },
      },
    };
    let isolated!: typeof import('./display');
    jest.isolateModules(() => {
      jest.doMock('node:module', () => ({ createRequire: () => ({ cache }) }));
      isolated = require('./display');
    });
    g.__tslab__ = { exports: {}, require: () => undefined };
    expect(isolated.kernelKind()).toBe('tslab');
    const live = isolated.liveDisplay('t1');
    await live.show(log);
    await live.show(log);
    expect(writes).toEqual([
      [{ data: log.mimeBundle(), metadata: {}, transient: { display_id: 't1' } }, false],
      [{ data: log.mimeBundle(), metadata: {}, transient: { display_id: 't1' } }, true],
    ]);
  });

  test("tslab without its writer: falls back to tslab's public display (HTML only, still updated in place)", async () => {
    const html: string[] = [];
    let displays = 0;
    g.__tslab__ = {
      require: (id: string) =>
        id === 'tslab'
          ? {
              newDisplay: () => {
                displays += 1;
                return { html: (s: string) => html.push(s), text: () => undefined };
              },
            }
          : undefined,
    };
    const live = liveDisplay();
    await live.show(log);
    await live.show(log);
    expect(displays).toBe(1);
    expect(html).toEqual([log.mimeBundle()['text/html'], log.mimeBundle()['text/html']]);
  });

  test('ijavascript: $$.display(id).mime(bundle), one display object per live output; display() uses $$.mime', async () => {
    const shown: [string | undefined, MimeBundle][] = [];
    const opened: (string | undefined)[] = [];
    g.$$ = {
      mime: (bundle: MimeBundle) => shown.push([undefined, bundle]),
      display: (id?: string) => {
        opened.push(id);
        return { mime: (bundle: MimeBundle) => shown.push([id, bundle]) };
      },
    };
    expect(kernelKind()).toBe('ijavascript');
    const live = liveDisplay('i1');
    await live.show(log);
    await live.show(SessionTable.list([]));
    await display(log);
    expect(opened).toEqual(['i1']);
    expect(shown.map(([id]) => id)).toEqual(['i1', 'i1', undefined]);
    expect(shown[1][1]['text/plain']).toBe('no sessions');
  });

  test('any other value: text, plus JSON when it is data (arrays wrapped in an object, as Deno requires)', () => {
    expect(mimeBundleOf('plain')).toEqual({ 'text/plain': 'plain' });
    expect(mimeBundleOf([1, 2])['application/json']).toEqual({ items: [1, 2] });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(mimeBundleOf(cyclic)['application/json']).toBeUndefined();
  });
});
