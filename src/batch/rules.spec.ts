// The plan's rules one by one (rules.ts), the parameter values they parse (params.ts), the sweep's text
// forms (sweep.ts) and replica identity (identity.ts): no server, no files.
import { decodeParamEnv } from '../convert';
import type { NotebookParameter } from '../convert';
import { identityEnv, identityOf, sessionNameOf } from './identity';
import { checkParamValue, defaultKey, parsePythonLiteral, unquoteStringLiteral } from './params';
import { BatchPlanError, planBatch } from './plan';
import {
  envRule,
  expectRule,
  Findings,
  namesRule,
  parametersRule,
  plannedReplicas,
  replicasRule,
  sweepRule,
} from './rules';
import { MemoryBatchStore } from './store';
import { materializeBatch } from './submit';
import { rerunInput } from './actions';
import { parseCsv, parseSweepFile, parseSweepOption, sweepTable } from './sweep';

const DECLARED: NotebookParameter[] = [
  { name: 'threshold', type: 'float', default: '0.5' },
  { name: 'method', type: 'str', default: '"gaussian"' },
  { name: 'steps', type: 'int', default: '10' },
  { name: 'verbose', type: 'bool', default: 'False' },
  { name: 'bands', type: 'list', default: '[1, 2]' },
];

const rules = (findings: Findings) => findings.problems.map((p) => `${p.field}: ${p.rule}`);

describe('parameter values', () => {
  const param = (type: NotebookParameter['type'], value: Parameters<typeof checkParamValue>[1]) =>
    checkParamValue({ type }, value);

  test('parsed with the type of the default: text sent, canonical key, or the rule broken', () => {
    expect(param('int', ' 1_000 ')).toEqual({ ok: true, text: '1_000', key: '1000' });
    expect(param('int', 7)).toEqual({ ok: true, text: '7', key: '7' });
    expect(param('int', 'ten')).toEqual({ ok: false, rule: expect.stringMatching(/whole number.*an int/) });
    expect(param('int', 1.5).ok).toBe(false);
    expect(param('float', '1e-3')).toMatchObject({ ok: true, key: '0.001' });
    expect(param('float', 0.1)).toMatchObject({ ok: true, text: '0.1' });
    expect(param('float', 'inf')).toMatchObject({ ok: true, key: 'inf' });
    expect(param('float', 'x').ok).toBe(false);
    expect(param('bool', 'Yes')).toMatchObject({ ok: true, key: 'true' });
    expect(param('bool', false)).toMatchObject({ ok: true, text: 'false' });
    expect(param('bool', 'maybe').ok).toBe(false);
    expect(param('list', '[1, 2,]')).toMatchObject({ ok: true, key: '[1,2]' });
    expect(param('list', "['a', (1, 2)]")).toMatchObject({ ok: true, key: '["a",[1,2]]' });
    expect(param('list', [3])).toMatchObject({ ok: true, text: '[3]' });
    expect(param('list', '3')).toEqual({ ok: false, rule: expect.stringMatching(/list literal/) });
    expect(param('dict', "{'a': True}")).toMatchObject({ ok: true, key: '{"a":true}' });
    expect(param('dict', '[1]').ok).toBe(false);
  });

  test('a string is taken as written, or as the string a whole quoted literal stands for', () => {
    const tricky = 'SELECT * FROM t WHERE x=1 AND y = "two"\nüñï ✓';
    expect(param('str', tricky)).toEqual({ ok: true, text: tricky, key: tricky });
    expect(param('str', '"gaussian"')).toMatchObject({ text: 'gaussian' });
    expect(param('str', "'a,b'")).toMatchObject({ text: 'a,b' });
    expect(param('str', '"a" + "b"')).toMatchObject({ text: '"a" + "b"' });
    expect(param('str', JSON.stringify(tricky))).toMatchObject({ text: tricky });
    expect(param('str', 4)).toMatchObject({ text: '4' });
    expect(param('str', ['a']).ok).toBe(false);
  });

  test('Python string literals: prefixes, triple quotes, escapes; anything else is not one', () => {
    expect(unquoteStringLiteral("'it\\'s'")).toBe("it's");
    expect(unquoteStringLiteral('"tab\\tnew\\nline \\u00fc \\x41"')).toBe('tab\tnew\nline ü A');
    expect(unquoteStringLiteral('r"C:\\dir"')).toBe('C:\\dir');
    expect(unquoteStringLiteral('"""multi\nline"""')).toBe('multi\nline');
    expect(unquoteStringLiteral('"a\nb"')).toBeUndefined();
    expect(unquoteStringLiteral('f"{x}"')).toBeUndefined();
    expect(unquoteStringLiteral('"open')).toBeUndefined();
    expect(unquoteStringLiteral('"a" "b"')).toBeUndefined();
    expect(parsePythonLiteral('{"a": [1, None], \'b\': (True,)}')).toEqual({
      value: { a: [1, null], b: [true] },
    });
    expect(parsePythonLiteral('[1, 2')).toBeUndefined();
  });

  test("a default's key is what an unchanged value compares equal to", () => {
    expect(defaultKey(DECLARED[1])).toBe('gaussian');
    expect(defaultKey(DECLARED[3])).toBe('false');
    expect(defaultKey({ type: 'other', default: 'np.pi' })).toBe('np.pi');
  });
});

describe('parametersRule', () => {
  test('sends only values that differ from the default, parsed with their type', () => {
    const findings = new Findings();
    const overrides = parametersRule(
      DECLARED,
      { threshold: '0.50', method: '"gaussian"', steps: '20', verbose: 'yes' },
      undefined,
      findings,
    );
    expect(findings.problems).toEqual([]);
    expect(overrides).toEqual({ steps: '20', verbose: 'yes' });
  });

  test('an unknown parameter and a bad value are named with the parameter', () => {
    const findings = new Findings();
    parametersRule(DECLARED, { stepz: '1', steps: 'many' }, undefined, findings);
    expect(rules(findings)).toEqual([
      expect.stringMatching(
        /^param stepz: stepz is not a parameter of the notebook \(its parameters cell declares: threshold, method/,
      ),
      'param steps: must be a whole number (the default in the notebook is an int)',
    ]);
  });
});

describe('sweepRule', () => {
  test('axes: the cartesian product, first parameter slowest, values typed and recorded as text', () => {
    const findings = new Findings();
    const sweep = sweepRule(
      DECLARED,
      { threshold: [0.1, '0.2', 0.3], method: ['a', '"b"'] },
      {},
      2,
      findings,
    );
    expect(findings.problems).toEqual([]);
    expect(sweep).toEqual({
      parameters: ['threshold', 'method'],
      shards: 2,
      sets: [
        { threshold: '0.1', method: 'a' },
        { threshold: '0.1', method: 'b' },
        { threshold: '0.2', method: 'a' },
        { threshold: '0.2', method: 'b' },
        { threshold: '0.3', method: 'a' },
        { threshold: '0.3', method: 'b' },
      ],
    });
  });

  test('every problem at once: unknown parameter, bad values, empty list, a parameter also given as --param', () => {
    const findings = new Findings();
    expect(
      sweepRule(
        DECLARED,
        { threshold: [0.1, 'high', 'low'], nope: [1], method: [], steps: [1, 2] },
        { steps: '3' },
        1,
        findings,
      ),
    ).toBeUndefined();
    expect(rules(findings)).toEqual([
      expect.stringMatching(/^sweep nope: nope is not a parameter of the notebook/),
      'sweep steps: steps is given both as a single value (--param) and swept',
      'sweep method: the list of values of method is empty',
      'sweep threshold: must be a number (the default in the notebook is a float)',
      'sweep threshold: must be a number (the default in the notebook is a float)',
    ]);
    expect(findings.problems.filter((p) => p.field === 'sweep threshold').map((p) => p.value)).toEqual([
      'high',
      'low',
    ]);
  });

  test('duplicate sets are refused naming both sets (equal values written differently included)', () => {
    const findings = new Findings();
    sweepRule(
      DECLARED,
      [
        { steps: '1_000', method: 'a' },
        { steps: 1000, method: "'a'" },
      ],
      {},
      1,
      findings,
    );
    expect(rules(findings)).toEqual(['sweep: sets 1 and 2 are the same (steps=1000, method=a)']);
  });

  test('more than 512 sessions: refused with the count and how to split, without expanding the sweep', () => {
    const findings = new Findings();
    const huge = {
      threshold: Array.from({ length: 1000 }, (_, i) => i),
      steps: Array.from({ length: 1000 }, (_, i) => i),
    };
    expect(sweepRule(DECLARED, huge, {}, 1, findings)).toBeUndefined();
    expect(rules(findings)[0]).toMatch(
      /1000000 set\(s\) x 1 shard\(s\) = 1000000 sessions, more than the 512/,
    );
    const split = new Findings();
    sweepRule(DECLARED, { threshold: Array.from({ length: 100 }, (_, i) => i) }, {}, 6, split);
    expect(rules(split)[0]).toBe(
      'sweep: 100 set(s) x 6 shard(s) = 600 sessions, more than the 512 a batch may launch: split it into 2 batches of at most 85 set(s) each, or use fewer shards per set (-r)',
    );
  });
});

describe('replicas, names and identity', () => {
  const shape = { sets: 3, shards: 2, swept: true };

  test('replica i = (set-1) x R + shard; names <name>-<set>-<shard>, or <name>-<i> with one shard', () => {
    expect([1, 2, 3, 6].map((i) => identityOf(i, shape))).toEqual([
      { replica: 1, set: 1, shard: 1 },
      { replica: 2, set: 1, shard: 2 },
      { replica: 3, set: 2, shard: 1 },
      { replica: 6, set: 3, shard: 2 },
    ]);
    expect(sessionNameOf('sw', 4, shape)).toBe('sw-2-2');
    expect(sessionNameOf('sw', 3, { sets: 3, shards: 1, swept: true })).toBe('sw-3');
    expect(sessionNameOf('sw', 1, { sets: 1, shards: 1, swept: true })).toBe('sw');
    expect(sessionNameOf('sw', 5, { sets: 1, shards: 8, swept: false })).toBe('sw-5');
    expect(identityEnv(4, shape)).toEqual({
      REPLICA_ID: '2',
      REPLICA_COUNT: '2',
      CANFAR_BATCH_REPLICA_ID: '4',
      CANFAR_BATCH_REPLICA_COUNT: '6',
      CANFAR_SET_ID: '2',
      CANFAR_SET_COUNT: '3',
    });
    expect(identityEnv(5, { sets: 1, shards: 8, swept: false })).toEqual({
      REPLICA_ID: '5',
      REPLICA_COUNT: '8',
      CANFAR_BATCH_REPLICA_ID: '5',
      CANFAR_BATCH_REPLICA_COUNT: '8',
    });
  });

  test('replicasRule: R shards per set, N = S x R; without a sweep N = R', () => {
    const findings = new Findings();
    const sweep = { parameters: ['t'], sets: [{}, {}, {}], shards: 2 };
    expect(replicasRule(2, sweep, undefined, findings)).toEqual({ shape, ids: [1, 2, 3, 4, 5, 6] });
    expect(replicasRule(4, undefined, undefined, findings).shape).toEqual({
      sets: 1,
      shards: 4,
      swept: false,
    });
    replicasRule(0, sweep, undefined, findings);
    expect(rules(findings)).toEqual([
      expect.stringMatching(/replicas=0 is out of range.*\(shards per parameter set\)/),
    ]);
  });

  test('namesRule: the longest replica name fits in 63 characters; no leading or trailing "-"', () => {
    const findings = new Findings();
    namesRule('a'.repeat(58), { sets: 12, shards: 10, swept: true }, [1], {}, findings);
    namesRule('-x', shape, [1], {}, findings);
    expect(rules(findings)).toEqual([
      expect.stringMatching(
        /name "a{58}-12-10" has 64 characters, more than 63 .*Shorten "a{58}" by 1 character\./,
      ),
      expect.stringMatching(/name "-x" starts with "-"/),
    ]);
  });

  test('plannedReplicas: identity env, the set values that differ from the defaults, encoded', () => {
    const value = 'x=1 "q"\nü';
    const replicas = plannedReplicas(
      'sw',
      { sets: 2, shards: 1, swept: true },
      [1, 2],
      {
        parameters: ['method', 'steps'],
        sets: [
          { method: value, steps: '10' },
          { method: 'gaussian', steps: '3' },
        ],
        shards: 1,
      },
      DECLARED,
    );
    expect(replicas[0]).toMatchObject({ replica: 1, name: 'sw-1', set: 1, shard: 1 });
    expect(decodeParamEnv(replicas[0].env.CANFAR_PARAM_method)).toBe(value);
    expect(replicas[0].env.CANFAR_PARAM_method).toMatch(/^canfar-b64:[A-Za-z0-9_-]+$/);
    // steps=10 and method=gaussian are the notebook's defaults: not sent.
    expect(replicas[0].env.CANFAR_PARAM_steps).toBeUndefined();
    expect(replicas[1].env).toEqual({
      REPLICA_ID: '1',
      REPLICA_COUNT: '1',
      CANFAR_BATCH_REPLICA_ID: '2',
      CANFAR_BATCH_REPLICA_COUNT: '2',
      CANFAR_SET_ID: '2',
      CANFAR_SET_COUNT: '2',
      CANFAR_PARAM_steps: '3',
    });
  });
});

describe('env and expected outputs', () => {
  test('envRule: reserved names, bad names, values the service drops', () => {
    const findings = new Findings();
    expect(
      envRule({ MODE: 'fast', CANFAR_SET_ID: '2', 'A-B': 'x', E: '', Q: 'a=b' }, undefined, findings),
    ).toEqual({
      MODE: 'fast',
      E: '',
      Q: 'a=b',
    });
    expect(rules(findings)).toEqual([
      'env: is set by the batch itself',
      'env: an environment variable name is letters, digits and _ and does not start with a digit',
      expect.stringMatching(/^env: env E is empty/),
      expect.stringMatching(/^env: env Q="a=b" contains "="/),
    ]);
  });

  test('expectRule: placeholders {replica} {set} {shard} only, no white space or shell characters', () => {
    const findings = new Findings();
    expect(
      expectRule(['results/part-{replica}.json', 'out/{set}-*.csv', 'a b', '{id}.txt', '$(x)'], findings),
    ).toEqual(['results/part-{replica}.json', 'out/{set}-*.csv']);
    expect(rules(findings)).toEqual([
      expect.stringMatching(/^expect: may not contain white space/),
      'expect: unknown placeholder {id}: use {replica}, {set} or {shard}',
      expect.stringMatching(/^expect: may not contain white space/),
    ]);
  });
});

describe('sweep text forms', () => {
  test('--sweep NAME=V1,V2 and NAME=[JSON list] for values with commas', () => {
    expect(parseSweepOption('threshold=0.1, 0.5')).toEqual({ name: 'threshold', values: ['0.1', '0.5'] });
    expect(parseSweepOption('method=["a,b", "c"]')).toEqual({ name: 'method', values: ['a,b', 'c'] });
    expect(parseSweepOption("method=['x y', 2]")).toEqual({ name: 'method', values: ['x y', 2] });
    expect(parseSweepOption('bands=[[1,2],[3]]')).toEqual({ name: 'bands', values: [[1, 2], [3]] });
    expect(parseSweepOption('x=')).toEqual({ name: 'x', values: [] });
    expect(parseSweepOption('=1')).toEqual({ error: expect.stringMatching(/NAME=V1,V2/) });
    expect(parseSweepOption('m=[a,b')).toEqual({ error: expect.stringMatching(/not a JSON list/) });
  });

  test('--sweep-file: CSV with a header (quoted cells, empty = default) or a JSON list of objects', () => {
    expect(
      parseSweepFile('sets.csv', 'threshold,method\n0.1,"a,b"\n0.5,\n"1e-3","say ""hi""\nthere"\n'),
    ).toEqual({
      sweep: [
        { threshold: '0.1', method: 'a,b' },
        { threshold: '0.5' },
        { threshold: '1e-3', method: 'say "hi"\nthere' },
      ],
    });
    expect(parseSweepFile('sets.json', '[{"threshold": 0.1}, {"threshold": 0.5, "method": "x"}]')).toEqual({
      sweep: [{ threshold: 0.1 }, { threshold: 0.5, method: 'x' }],
    });
    expect(parseSweepFile('axes.json', '{"threshold": [0.1, 0.2]}')).toEqual({
      sweep: { threshold: [0.1, 0.2] },
    });
    expect(parseSweepFile('s.csv', 'a,b\n1\n')).toEqual({
      error: 's.csv: row 2 has 1 cell(s), the header 2',
    });
    expect(parseSweepFile('s.json', '[1]')).toEqual({
      error: expect.stringMatching(/item 1 is not an object/),
    });
    expect(parseCsv('"open')).toEqual({ error: 'a quoted cell is not closed' });
  });

  test('the table of sets: one row per set, the first and last ones of a large sweep', () => {
    const sweep = {
      parameters: ['t', 'm'],
      sets: Array.from({ length: 30 }, (_, i) => ({ t: String(i) })),
      shards: 2,
    };
    const table = sweepTable(sweep, (set) => [`x-${set}-1`, `x-${set}-2`], { m: 'gaussian' }, 2);
    expect(table.split('\n')).toEqual([
      'SET  t   m         SESSIONS',
      '1    0   gaussian  x-1-1 x-1-2',
      '2    1   gaussian  x-2-1 x-2-2',
      '…                  (26 more sets)',
      '29   28  gaussian  x-29-1 x-29-2',
      '30   29  gaussian  x-30-1 x-30-2',
    ]);
  });
});

describe('planBatch with a sweep', () => {
  const notebook = JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', language: 'python', display_name: 'Python 3' } },
    cells: [
      {
        cell_type: 'code',
        id: 'p',
        metadata: { tags: ['parameters'] },
        source: 'threshold = 0.5\nmethod = "gaussian"\n',
        outputs: [],
        execution_count: null,
      },
      {
        cell_type: 'code',
        id: 'w',
        metadata: {},
        source: 'print(threshold, method)\n',
        outputs: [],
        execution_count: null,
      },
    ],
  });

  test('records the sets and each replica set and shard; the spec keeps only what all share', async () => {
    const plan = await planBatch(
      {
        notebookPath: 'nb.ipynb',
        notebookText: notebook,
        replicas: 2,
        image: 'images.canfar.net/skaha/astroml:latest',
        name: 'sw',
        sweep: { threshold: [0.1, 0.5, 0.9], method: ['gaussian', 'box'] },
      },
      {},
      new MemoryBatchStore(),
    );
    expect(plan.replicaCount).toBe(12);
    expect(plan.manifest.sweep?.sets).toHaveLength(6);
    expect(plan.manifest.replicas.slice(0, 3)).toEqual([
      { replica: 1, name: 'sw-1-1', set: 1, shard: 1 },
      { replica: 2, name: 'sw-1-2', set: 1, shard: 2 },
      { replica: 3, name: 'sw-2-1', set: 2, shard: 1 },
    ]);
    expect(Object.keys(plan.spec.env ?? {}).filter((k) => k.startsWith('CANFAR_PARAM_'))).toEqual([]);
    // Set 2 is threshold=0.1, method=box: only method differs from the defaults... and threshold.
    expect(plan.replicas[2].env).toMatchObject({
      CANFAR_PARAM_threshold: '0.1',
      CANFAR_PARAM_method: 'box',
      CANFAR_SET_ID: '2',
    });
    // Set 3 is threshold=0.5, method=gaussian: the notebook's defaults, nothing sent.
    expect(Object.keys(plan.replicas[4].env).filter((k) => k.startsWith('CANFAR_PARAM_'))).toEqual([]);
  });

  test('a re-run (a new batch) and a re-run in the same folder keep each replica its set, shard and values', async () => {
    const store = new MemoryBatchStore();
    const plan = await planBatch(
      {
        notebookPath: 'nb.ipynb',
        notebookText: notebook,
        replicas: 2,
        image: 'images.canfar.net/skaha/astroml:latest',
        name: 'sw',
        sweep: [{ method: 'box' }, { threshold: '0.1' }],
      },
      {},
      store,
    );
    await materializeBatch(plan, store);
    const again = await planBatch(await rerunInput(store, plan.folder, { name: 'sw2' }), {}, store);
    expect(
      again.replicas.map((r) => [
        r.replica,
        r.name,
        r.env.CANFAR_SET_ID,
        r.env.CANFAR_PARAM_method,
        r.env.CANFAR_PARAM_threshold,
      ]),
    ).toEqual([
      [1, 'sw2-1-1', '1', 'box', undefined],
      [2, 'sw2-1-2', '1', 'box', undefined],
      [3, 'sw2-2-1', '2', undefined, '0.1'],
      [4, 'sw2-2-2', '2', undefined, '0.1'],
    ]);
    expect(again.manifest.sweep).toEqual(plan.manifest.sweep);
    const inPlace = await planBatch(
      await rerunInput(store, plan.folder, { replicaIds: [4], inPlace: true }),
      {},
      store,
    );
    expect(inPlace).toMatchObject({ batchId: plan.batchId, folder: plan.folder, inPlace: true, files: [] });
    expect(inPlace.replicas).toEqual([
      expect.objectContaining({
        replica: 4,
        name: 'sw-2-2',
        set: 2,
        shard: 2,
        env: expect.objectContaining({ REPLICA_ID: '2', CANFAR_PARAM_threshold: '0.1' }),
      }),
    ]);
  });

  test('refuses, listing every problem: an unknown parameter, a bad value, 0 shards, a bad output pattern', async () => {
    const error = await planBatch(
      {
        notebookPath: 'nb.ipynb',
        notebookText: notebook,
        replicas: 0,
        image: 'images.canfar.net/skaha/astroml:latest',
        sweep: [{ threshold: 'x' }, { nope: 1 }],
        expect: ['a b'],
      },
      {},
      new MemoryBatchStore(),
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BatchPlanError);
    expect((error as BatchPlanError).problems.map((p) => p.field)).toEqual([
      'sweep nope',
      'sweep threshold',
      'replicas',
      'expect',
    ]);
  });
});
