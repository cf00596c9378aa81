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

  it('derives a valid default name from the notebook path', () => {
    expect(defaultName('analysis/My Sweep.ipynb')).toBe('my-sweep');
    expect(defaultName('__.ipynb')).toBe('batch');
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
