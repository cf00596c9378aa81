import { Dialog } from '@jupyterlab/apputils';
import { nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { currentSessionImage, defaultName, localPreview, SubmitForm, validateSubmitInput } from './submit';
import type { SubmitContext, SubmitInput, SubmitValue } from './submit';
import { DEFAULT_SETTINGS } from './tokens';
import { CONTEXT, session } from './testing.test';

const trans = nullTranslator.load('jupyterlab_canfar');
const info: SubmitContext = {
  notebookPath: 'analysis/My Sweep.ipynb',
  context: CONTEXT,
  images: [{ id: 'images.canfar.net/skaha/astroml:latest', types: ['headless'] }],
  repositories: ['images.canfar.net'],
  parameters: [
    { name: 'alpha', type: 'float', default: '0.5' },
    { name: 'label', type: 'str', default: "'run'" },
  ],
};

function type(form: SubmitForm, name: string, value: string) {
  const control = form.node.querySelector<HTMLInputElement | HTMLTextAreaElement>(`[name="${name}"]`)!;
  control.value = value;
  control.dispatchEvent(new Event('input', { bubbles: true }));
}

const errorOf = (form: SubmitForm, field: string) =>
  form.node.querySelector(`[data-field="${field}"] .jp-CanfarSubmit-error`)?.textContent ?? '';

describe('validateSubmitInput', () => {
  const base: SubmitInput = {
    name: 'sweep',
    image: 'images.canfar.net/skaha/astroml:latest',
    flexible: false,
    cores: 2,
    ram: 8,
    gpus: 0,
    replicas: '4',
    env: 'MODE=fast\n# comment\n',
    params: {},
    policy: 'translate',
  };

  it('accepts a valid input and reports fixed resources only when fixed', () => {
    const { errors, value } = validateSubmitInput(base, info);
    expect(errors).toEqual({});
    expect(value).toMatchObject({ name: 'sweep', replicas: 4, cores: 2, ram: 8, env: { MODE: 'fast' } });
    expect(validateSubmitInput({ ...base, flexible: true }, info).value?.cores).toBeUndefined();
  });

  it('names each bad field with its value and the rule', () => {
    const { errors, value } = validateSubmitInput(
      {
        ...base,
        name: 'my job',
        replicas: '0',
        env: 'A=b=c\nB=\nREPLICA_ID=3\n1X=y',
        cores: 3,
        image: 'docker.io/x:1',
      },
      info,
    );
    expect(value).toBeUndefined();
    expect(errors.name).toBe(
      'The name "my job" may contain only letters, digits and "-" (no spaces or "_").',
    );
    expect(errors.replicas).toBe('Replicas must be a whole number from 1 to 512 (got "0").');
    expect(errors.env).toContain('line 1: the value of A contains "="');
    expect(errors.env).toContain('line 2: B has an empty value');
    expect(errors.env).toContain('line 3: REPLICA_ID is set by the batch itself');
    expect(errors.env).toContain('line 4: "1X" is not a valid variable name');
    expect(errors.cores).toBe('3 cores is not offered; choose one of 1, 2, 4, 8, 16.');
    expect(errors.image).toBe('The image "docker.io/x:1" is not in an allowed registry (images.canfar.net).');
    expect(validateSubmitInput({ ...base, replicas: '513' }, info).errors.replicas).toMatch(/1 to 512/);
    expect(validateSubmitInput({ ...base, name: 'a'.repeat(60), replicas: '100' }, info).errors.name).toMatch(
      /too long/,
    );
    // In a sweep the longest name is <name>-<set>-<shard>.
    const swept = { ...base, name: 'a'.repeat(58), replicas: '10', sweeps: { alpha: true } };
    expect(
      validateSubmitInput({ ...swept, params: { alpha: '1,2,3,4,5,6,7,8,9' } }, info).errors.name,
    ).toBeUndefined();
    expect(
      validateSubmitInput({ ...swept, params: { alpha: '1,2,3,4,5,6,7,8,9,10,11,12' } }, info).errors.name,
    ).toBe(
      'The name is too long: with the replica suffix "-12-10" it must be at most 63 characters (it is 64).',
    );
  });

  it("finds the image of the CANFAR session JupyterLab runs in from the page's path", () => {
    const sessions = [
      session({
        id: 'k3x9q2ma',
        name: 'lab',
        type: 'notebook',
        image: 'images.canfar.net/skaha/astroml-notebook:24.07',
      }),
      session({ id: 'zzzzzzzz', name: 'job', image: 'images.canfar.net/skaha/terminal:1.1.2' }),
    ];
    expect(currentSessionImage(sessions, '/session/notebook/k3x9q2ma/lab/tree/arc')).toBe(
      'images.canfar.net/skaha/astroml-notebook:24.07',
    );
    expect(currentSessionImage(sessions, '/lab/tree')).toBeUndefined();
  });

  it("derives the default name as the CLI does: the notebook's slug and 4 characters of the batch id", () => {
    expect(defaultName('analysis/My Sweep.ipynb', '20260721-180000-k3x9')).toBe('my-sweep-k3x9');
    expect(defaultName('__.ipynb', '20260721-180000-0a1b')).toBe('batch-0a1b');
    expect(defaultName('A'.repeat(80) + '.ipynb', '20260721-180000-zzzz')).toBe(`${'a'.repeat(40)}-zzzz`);
  });
});

describe('localPreview', () => {
  const value: SubmitValue = {
    name: 'sweep',
    image: 'images.canfar.net/skaha/astroml:latest',
    replicas: 2,
    env: {},
    params: {},
    policy: 'translate',
  };

  it("describes flexible resources with this platform's request and limit, CANFAR's without a context", () => {
    const local = {
      ...CONTEXT,
      cores: { ...CONTEXT.cores, defaultLimit: 2 },
      memoryGB: { ...CONTEXT.memoryGB, defaultLimit: 20 },
    };
    expect(localPreview(value, 'a.ipynb', undefined, local).resources).toBe(
      `flexible (${CONTEXT.cores.defaultRequest} core / ${CONTEXT.memoryGB.defaultRequest} GB requested, up to 2 / 20)`,
    );
    expect(localPreview(value, 'a.ipynb').resources).toBe('flexible (1 core / 4 GB requested, up to 8 / 32)');
  });
});

describe('SubmitForm', () => {
  afterEach(() => {
    document.body.innerHTML = '';
  });

  it('shows inline errors and disables Submit in the dialog until the input is valid', async () => {
    const form = new SubmitForm({ trans, settings: DEFAULT_SETTINGS, info });
    const dialog = new Dialog({
      title: 'Submit',
      body: form,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Submit' })],
    });
    const result = dialog.launch();
    await new Promise((resolve) => setTimeout(resolve, 0));
    const submit = document.querySelector<HTMLButtonElement>('.jp-Dialog-button.jp-mod-accept')!;
    expect(submit.disabled).toBe(false);

    type(form, 'replicas', '0');
    expect(errorOf(form, 'replicas')).toMatch(/from 1 to 512/);
    expect(form.node.querySelector('[name="replicas"]')?.classList.contains('jp-mod-error')).toBe(true);
    expect(submit.disabled).toBe(true);

    type(form, 'name', 'my job');
    expect(errorOf(form, 'name')).toMatch(/"my job" may contain only/);
    type(form, 'env', 'TOKEN=a=b');
    expect(errorOf(form, 'env')).toMatch(/contains "="/);
    expect(form.getValue()).toBeUndefined();
    expect(submit.disabled).toBe(true);

    type(form, 'replicas', '3');
    type(form, 'name', 'sweep');
    type(form, 'env', 'TOKEN=ab');
    expect(errorOf(form, 'name')).toBe('');
    expect(submit.disabled).toBe(false);
    expect(form.node.querySelector('[data-canfar="plan"]')?.textContent).toContain(
      '3 headless sessions: sweep-1, sweep-2, sweep-3',
    );
    expect(form.node.querySelector('[data-canfar="plan"]')?.textContent).toContain(
      'analysis/canfar-batches/',
    );

    submit.click();
    const answer = await result;
    expect(answer.button.accept).toBe(true);
    expect(answer.value).toMatchObject({ name: 'sweep', replicas: 3, env: { TOKEN: 'ab' }, params: {} });
  });

  it("starts from this notebook's last submission, keeping only parameters it still declares", () => {
    const form = new SubmitForm({
      trans,
      settings: DEFAULT_SETTINGS,
      info,
      initial: {
        name: 'again',
        replicas: '16',
        flexible: false,
        cores: 4,
        params: { alpha: '2', gone: 'x' },
      },
    });
    Widget.attach(form, document.body);
    expect(form.node.querySelector<HTMLInputElement>('[name="name"]')?.value).toBe('again');
    expect(form.node.querySelector<HTMLInputElement>('[name="replicas"]')?.value).toBe('16');
    expect(form.node.querySelector<HTMLSelectElement>('[name="cores"]')?.value).toBe('4');
    expect(form.getValue()).toMatchObject({ name: 'again', replicas: 16, cores: 4, params: { alpha: '2' } });
  });

  it('proposes a name of its own at each submission: the same notebook twice never takes the same names', () => {
    const first = new SubmitForm({ trans, settings: DEFAULT_SETTINGS, info, batchSuffix: 'k3x9' });
    expect(first.proposedName).toBe('my-sweep-k3x9');
    expect(first.getValue()?.name).toBe('my-sweep-k3x9');
    // Two dialogs, random suffixes: different names.
    const names = new Set(
      Array.from(
        { length: 20 },
        () => new SubmitForm({ trans, settings: DEFAULT_SETTINGS, info }).proposedName,
      ),
    );
    expect(names.size).toBe(20);
    for (const name of names) expect(name).toMatch(/^my-sweep-[a-z0-9]{4}$/);
    // The last submission is remembered with its name: a proposed one (this version's, or an older
    // version's bare slug) is that batch's and gives way to a fresh one; a name the user typed stays.
    for (const earlier of ['my-sweep-k3x9', 'my-sweep']) {
      const again = new SubmitForm({
        trans,
        settings: DEFAULT_SETTINGS,
        info,
        batchSuffix: 'p0q1',
        initial: { name: earlier, replicas: '4' },
      });
      expect(again.getValue()).toMatchObject({ name: 'my-sweep-p0q1', replicas: 4 });
    }
    const typed = new SubmitForm({ trans, settings: DEFAULT_SETTINGS, info, initial: { name: 'survey' } });
    expect(typed.getValue()?.name).toBe('survey');
  });

  it('prefills parameters and sends only the changed ones', () => {
    const form = new SubmitForm({ trans, settings: DEFAULT_SETTINGS, info });
    Widget.attach(form, document.body);
    const alpha = form.node.querySelector<HTMLInputElement>('[data-param="alpha"]')!;
    expect(alpha.value).toBe('0.5');
    alpha.value = '0.9';
    alpha.dispatchEvent(new Event('input', { bubbles: true }));
    expect(form.getValue()?.params).toEqual({ alpha: '0.9' });
  });

  it("shows the planner's problems and warnings when src/batch previews the plan", async () => {
    const form = new SubmitForm({
      trans,
      settings: DEFAULT_SETTINGS,
      info,
      previewDelay: 0,
      preview: async (value) =>
        value.replicas > 2
          ? { problems: [{ field: 'name', message: 'sweep-1 is already in use by a running session' }] }
          : {
              plan: {
                names: ['sweep-1', 'sweep-2'],
                folder: 'analysis/canfar-batches/20260721-180000-abcd',
                absoluteFolder: '/arc/home/jdoe/analysis/canfar-batches/20260721-180000-abcd',
                resources: 'flexible',
                image: value.image,
                warnings: ['cell 3: %matplotlib inline was dropped'],
              },
            },
    });
    Widget.attach(form, document.body);
    type(form, 'name', 'sweep');
    type(form, 'replicas', '2');
    await form.previewDone;
    const plan = form.node.querySelector('[data-canfar="plan"]')?.textContent ?? '';
    expect(plan).toContain('/arc/home/jdoe/analysis/canfar-batches/20260721-180000-abcd');
    expect(plan).toContain('cell 3: %matplotlib inline was dropped');
    expect(form.valid).toBe(true);
    type(form, 'replicas', '5');
    await form.previewDone;
    expect(errorOf(form, 'name')).toBe('sweep-1 is already in use by a running session');
    expect(form.valid).toBe(false);
    expect(form.getValue()).toBeUndefined();
  });
});

describe('SubmitForm: sweeps and any parameter value', () => {
  afterEach(() => {
    document.body.innerHTML = '';
  });
  const withQuery: SubmitContext = {
    ...info,
    parameters: [
      { name: 'alpha', type: 'float', default: '0.5' },
      { name: 'method', type: 'str', default: '"gaussian"' },
      { name: 'QUERY', type: 'str', default: '"SELECT * FROM t WHERE x=1"' },
    ],
  };
  const toggle = (form: SubmitForm, param: string, on: boolean) => {
    const box = form.node.querySelector<HTMLInputElement>(`[name="sweep:${param}"]`)!;
    box.checked = on;
    box.dispatchEvent(new Event('input', { bubbles: true }));
  };
  const count = (form: SubmitForm) => form.node.querySelector('[data-canfar="sweep-count"]')?.textContent;

  it('a parameter holding "=" submits unchanged (nothing sent) and overridden, its errors under its own field', async () => {
    const previews: SubmitValue[] = [];
    const form = new SubmitForm({
      trans,
      settings: DEFAULT_SETTINGS,
      info: withQuery,
      previewDelay: 0,
      preview: async (value) => {
        previews.push(value);
        return { plan: localPreview(value, withQuery.notebookPath) };
      },
    });
    Widget.attach(form, document.body);
    await form.previewDone;
    expect(form.valid).toBe(true);
    expect(errorOf(form, 'env')).toBe('');
    expect(form.getValue()?.params).toEqual({});
    expect(previews[previews.length - 1].params).toEqual({});
    // A one-line field takes a newline as a quoted literal's escape (src/batch unquotes it).
    const value = JSON.stringify('name = "O\'Brien"\nüñï');
    type(form, 'param:QUERY', value);
    await form.previewDone;
    expect(form.getValue()?.params).toEqual({ QUERY: value });
    expect(previews[previews.length - 1].params).toEqual({ QUERY: value });
    type(form, 'param:alpha', 'high');
    expect(errorOf(form, 'param:alpha')).toBe(
      '"high" must be a number (the default in the notebook is a float).',
    );
    expect(errorOf(form, 'env')).toBe('');
    expect(form.valid).toBe(false);
  });

  it('each field takes a list when swept: live count of sets and sessions, every combination sent', async () => {
    const form = new SubmitForm({ trans, settings: DEFAULT_SETTINGS, info: withQuery, batchSuffix: 'k3x9' });
    Widget.attach(form, document.body);
    expect(count(form)).toBe('No parameter is swept: one set of values.');
    toggle(form, 'alpha', true);
    type(form, 'param:alpha', '0.1, 0.5, 0.9');
    type(form, 'replicas', '2');
    expect(count(form)).toBe('3 parameter set(s) x 2 replica(s) per set = 6 session(s)');
    expect(form.node.querySelector('[data-field="replicas"] label')?.textContent).toBe(
      'Replicas per set (1 to 512)',
    );
    toggle(form, 'method', true);
    type(form, 'param:method', '["a,b", "c"]');
    expect(count(form)).toBe('6 parameter set(s) x 2 replica(s) per set = 12 session(s)');
    expect(form.getValue()).toMatchObject({
      replicas: 2,
      params: {},
      sweep: { alpha: ['0.1', '0.5', '0.9'], method: ['a,b', 'c'] },
    });
    // The local plan lists the sets' sessions.
    expect(form.node.querySelector('[data-canfar="plan"]')?.textContent).toContain(
      '12 headless sessions: my-sweep-k3x9-1-1, my-sweep-k3x9-1-2, my-sweep-k3x9-2-1, …, my-sweep-k3x9-6-2',
    );
    type(form, 'param:alpha', '0.1, x, 0.1');
    expect(errorOf(form, 'param:alpha')).toBe(
      '"x" must be a number (the default in the notebook is a float). "0.1" is in the list twice.',
    );
    type(form, 'param:alpha', Array.from({ length: 300 }, (_, i) => i).join(','));
    expect(errorOf(form, 'replicas')).toMatch(
      /600 set\(s\) x 2 shard\(s\) = 1200 sessions, more than the 512 a batch may launch: split it into 3 batches of at most 256 set\(s\) each/,
    );
    expect(count(form)).toBe('600 parameter set(s) x 2 replica(s) per set = 1200 session(s) (at most 512)');
    toggle(form, 'alpha', false);
    type(form, 'param:alpha', '0.5');
    expect(form.getValue()?.sweep).toEqual({ method: ['a,b', 'c'] });
  });

  it('shows the planner sets (first and last ones), the canary and the expected outputs', async () => {
    const form = new SubmitForm({
      trans,
      settings: DEFAULT_SETTINGS,
      info: withQuery,
      previewDelay: 0,
      preview: async (value) => ({
        plan: {
          ...localPreview(value, withQuery.notebookPath),
          canary: value.canary,
          sweep: {
            parameters: ['alpha'],
            setCount: 40,
            shards: 1,
            sets: [1, 2, 3, 38, 39, 40].map((set) => ({
              set,
              values: { alpha: String(set) },
              sessions: [`sweep-${set}`],
            })),
          },
        },
      }),
    });
    Widget.attach(form, document.body);
    const canary = form.node.querySelector<HTMLInputElement>('[name="canary"]')!;
    canary.checked = true;
    canary.dispatchEvent(new Event('input', { bubbles: true }));
    type(form, 'expect', 'results/part-{replica}.json  out/*.csv');
    await form.previewDone;
    expect(form.getValue()).toMatchObject({
      canary: true,
      expect: ['results/part-{replica}.json', 'out/*.csv'],
    });
    const plan = form.node.querySelector('[data-canfar="plan"]')!;
    expect(plan.textContent).toContain('Canary: replica 1 first, the others once it has completed');
    const rows = Array.from(plan.querySelectorAll('[data-canfar="sets"] tbody tr')).map(
      (tr) => tr.textContent,
    );
    expect(rows).toEqual([
      '11sweep-1',
      '22sweep-2',
      '33sweep-3',
      '… 34 more set(s) …',
      '3838sweep-38',
      '3939sweep-39',
      '4040sweep-40',
    ]);
  });
});
