/**
 * The "Submit notebook as headless batch…" dialog body: what to run, where, how many times. It checks
 * the input as the user types (inline errors; the dialog's Submit button is disabled while any field is
 * in error) and shows the plan: the N session names, resources, the batch folder and the conversion
 * warnings. Planning itself (and every platform rule) is src/batch's; this form only asks for a preview.
 */
import type { Dialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import {
  BATCHES_FOLDER,
  batchName,
  checkParamValue,
  longestSessionName,
  parseSweepOption,
  randomBase36,
  sessionNameOf,
  slugify,
  tooManySessions,
} from '../batch';
import type { ParamValue } from '../batch';
import { flexibleResources, MAX_REPLICAS as MAX_SESSIONS } from '../skaha';
import type { Session, SkahaContext, SkahaImage } from '../skaha';
import type {
  ICanfarSettings,
  NotebookParameterInfo,
  PlanPreview,
  Policy,
  PreviewResult,
  SubmitContext,
  SubmitValue,
} from './tokens';

// The dialog's data types are public (tokens.ts): re-exported for the modules that know them from here.
export type { NotebookParameterInfo, PlanPreview, Policy, PreviewResult, SubmitContext, SubmitValue };

export const MAX_REPLICAS = 512;
/** The service cuts names to 63 characters; the replica suffix `-<i>` must fit. */
export const MAX_SESSION_NAME = 63;
const NAME = /^[A-Za-z0-9-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Set by the batch itself: a user value would be replaced silently. */
const RESERVED_ENV =
  /^(REPLICA_ID|REPLICA_COUNT|CANFAR_BATCH_ID|CANFAR_BATCH_DIR|CANFAR_BATCH_REPLICA_ID|CANFAR_BATCH_REPLICA_COUNT|CANFAR_SET_ID|CANFAR_SET_COUNT|CANFAR_OUTPUT_DIR|CANFAR_PARAM_.*)$/;

/** What the user chose, as typed (strings where the user types). */
export interface SubmitInput {
  name: string;
  image: string;
  flexible: boolean;
  cores: number;
  ram: number;
  gpus: number;
  replicas: string;
  /** One `NAME=value` per line. */
  env: string;
  /** Parameter name -> value typed (the notebook's default when untouched); a list when swept. */
  params: Record<string, string>;
  /** Parameters whose field holds a list of values to sweep ("sweep this parameter"). */
  sweeps?: Record<string, boolean>;
  /** Launch replica 1 alone first. */
  canary?: boolean;
  /** Expected outputs, patterns separated by spaces or new lines. */
  expect?: string;
  policy: Policy;
}

export type FieldErrors = Partial<
  Record<
    | 'name'
    | 'image'
    | 'cores'
    | 'ram'
    | 'gpus'
    | 'replicas'
    | 'env'
    | 'params'
    | 'sweep'
    | 'expect'
    | `param:${string}`,
    string
  >
>;

/** Checks what the form can check alone; src/batch's planner checks the rest (and again, all of it). */
export function validateSubmitInput(
  input: SubmitInput,
  ctx: Pick<SubmitContext, 'context' | 'repositories' | 'parameters'>,
  trans?: TranslationBundle,
): { errors: FieldErrors; value?: SubmitValue; parameters?: never; sets?: number } {
  const __ = (text: string, ...args: (string | number)[]) =>
    trans
      ? trans.__(text, ...args)
      : args.reduce<string>((s, a, i) => s.replace(`%${i + 1}`, String(a)), text);
  const errors: FieldErrors = {};
  const replicasText = input.replicas.trim();
  const replicas = /^\d+$/.test(replicasText) ? Number(replicasText) : NaN;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS) {
    errors.replicas = __(
      'Replicas must be a whole number from 1 to %1 (got "%2").',
      MAX_REPLICAS,
      input.replicas,
    );
  }
  const name = input.name.trim();
  if (name === '') {
    errors.name = __('A name is required: letters, digits and "-".');
  } else if (!NAME.test(name)) {
    errors.name = __('The name "%1" may contain only letters, digits and "-" (no spaces or "_").', name);
  } else {
    // The longest session name: <name>-<i>, or <name>-<set>-<shard> in a sweep with several shards.
    const swept = Object.values(input.sweeps ?? {}).some(Boolean);
    const shards = Number.isInteger(replicas) ? replicas : 1;
    const longest = swept
      ? longestSessionName(name, { sets: countSets(input, ctx.parameters ?? []), shards, swept })
      : longestSessionName(name, { sets: 1, shards, swept: false });
    const suffix = longest.slice(name.length);
    if (name.length + suffix.length > MAX_SESSION_NAME) {
      errors.name = __(
        'The name is too long: with the replica suffix "%1" it must be at most %2 characters (it is %3).',
        suffix,
        MAX_SESSION_NAME,
        name.length + suffix.length,
      );
    }
  }
  const image = input.image.trim();
  if (image === '') {
    errors.image = __('An image is required, e.g. images.canfar.net/skaha/astroml:latest.');
  } else if (
    ctx.repositories &&
    ctx.repositories.length > 0 &&
    !ctx.repositories.some((host) => image.startsWith(`${host}/`))
  ) {
    errors.image = __(
      'The image "%1" is not in an allowed registry (%2).',
      image,
      ctx.repositories.join(', '),
    );
  }
  const context = ctx.context;
  if (!input.flexible && context) {
    if (!context.cores.options.includes(input.cores)) {
      errors.cores = __(
        '%1 cores is not offered; choose one of %2.',
        input.cores,
        context.cores.options.join(', '),
      );
    }
    if (!context.memoryGB.options.includes(input.ram)) {
      errors.ram = __(
        '%1 GB is not offered; choose one of %2.',
        input.ram,
        context.memoryGB.options.join(', '),
      );
    }
  }
  if (input.gpus !== 0 && context && !context.gpus.options.includes(input.gpus)) {
    errors.gpus = __(
      '%1 GPUs is not offered; choose 0 or one of %2.',
      input.gpus,
      context.gpus.options.join(', '),
    );
  }
  const env: Record<string, string> = {};
  const envErrors: string[] = [];
  input.env.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq).trim();
    const value = eq < 0 ? '' : line.slice(eq + 1).trim();
    const where = __('line %1', index + 1);
    if (eq < 0) envErrors.push(__('%1: "%2" is not NAME=value.', where, line));
    else if (!ENV_NAME.test(key)) envErrors.push(__('%1: "%2" is not a valid variable name.', where, key));
    else if (RESERVED_ENV.test(key)) envErrors.push(__('%1: %2 is set by the batch itself.', where, key));
    else if (value === '')
      envErrors.push(__('%1: %2 has an empty value, which the platform drops silently.', where, key));
    else if (value.includes('=')) {
      envErrors.push(__('%1: the value of %2 contains "=", which the platform drops silently.', where, key));
    } else if (key in env) envErrors.push(__('%1: %2 is set twice.', where, key));
    else env[key] = value;
  });
  if (envErrors.length > 0) errors.env = envErrors.join(' ');
  const { params, sweep, sets } = checkParameters(input, ctx.parameters ?? [], errors, __);
  if (sweep && Number.isInteger(replicas) && sets * replicas > MAX_SESSIONS) {
    errors.replicas = tooManySessions(sets, replicas);
  }
  const expect = (input.expect ?? '').split(/\s+/).filter(Boolean);
  if (Object.keys(errors).length > 0) return { errors, sets };
  return {
    errors,
    sets,
    value: {
      name,
      image,
      ...(input.flexible ? {} : { cores: input.cores, ram: input.ram }),
      ...(input.gpus > 0 ? { gpus: input.gpus } : {}),
      replicas,
      env,
      params,
      ...(sweep ? { sweep } : {}),
      ...(input.canary ? { canary: true } : {}),
      ...(expect.length > 0 ? { expect } : {}),
      policy: input.policy,
    },
  };
}

/** How many parameter sets the swept fields make (each list's length, multiplied; 1 without a sweep). */
function countSets(input: SubmitInput, declared: NotebookParameterInfo[]): number {
  let sets = 1;
  for (const parameter of declared) {
    if (!input.sweeps?.[parameter.name]) continue;
    const parsed = parseSweepOption(`${parameter.name}=${input.params[parameter.name] ?? parameter.default}`);
    if (!('error' in parsed) && parsed.values.length > 0) sets *= parsed.values.length;
  }
  return sets;
}

/**
 * The parameter fields: a single value is checked with the type of the notebook's default and sent only
 * when changed (an untouched field sends nothing, whatever it holds); a swept field holds a list (`a, b`
 * or a JSON list `["a,b", "c"]`), each value checked. Problems go to the parameter's own field.
 */
function checkParameters(
  input: SubmitInput,
  declared: NotebookParameterInfo[],
  errors: FieldErrors,
  __: (text: string, ...args: (string | number)[]) => string,
): { params: Record<string, string>; sweep?: Record<string, ParamValue[]>; sets: number } {
  const params: Record<string, string> = {};
  const sweep: Record<string, ParamValue[]> = {};
  let sets = 1;
  for (const parameter of declared) {
    const text = input.params[parameter.name] ?? parameter.default;
    const type = { type: parameter.type as Parameters<typeof checkParamValue>[0]['type'] };
    const key = `param:${parameter.name}` as const;
    if (!input.sweeps?.[parameter.name]) {
      if (text === parameter.default) continue;
      const check = checkParamValue(type, text);
      if (!check.ok) errors[key] = __('"%1" %2.', text, check.rule);
      else params[parameter.name] = text;
      continue;
    }
    const parsed = parseSweepOption(`${parameter.name}=${text}`);
    if ('error' in parsed || parsed.values.length === 0) {
      errors[key] = __(
        'Give the values to sweep, separated by commas (a, b, c), or as a JSON list ["a,b", "c"].',
      );
      continue;
    }
    const problems: string[] = [];
    const seen = new Map<string, ParamValue>();
    for (const value of parsed.values) {
      const check = checkParamValue(type, value);
      if (!check.ok) problems.push(__('"%1" %2.', String(value), check.rule));
      else if (seen.has(check.key)) problems.push(__('"%1" is in the list twice.', String(value)));
      else seen.set(check.key, value);
    }
    if (problems.length > 0) errors[key] = problems.join(' ');
    sweep[parameter.name] = parsed.values;
    sets *= parsed.values.length;
  }
  return { params, ...(Object.keys(sweep).length > 0 ? { sweep } : {}), sets };
}

/**
 * The image of the session this JupyterLab runs in, on CANFAR: its URL path holds the session id
 * (`/session/notebook/<id>/lab`), and the session list has its image. Undefined elsewhere.
 */
export function currentSessionImage(sessions: readonly Session[], path: string): string | undefined {
  return sessions.find((session) => session.type !== 'headless' && path.includes(`/${session.id}/`))?.image;
}

/**
 * The name the dialog proposes, as the CLI makes it: the notebook's name as a slug plus 4 characters of the
 * batch id (`analysis/My Sweep.ipynb`, batch `20260721-180000-k3x9` -> `my-sweep-k3x9`), so that a second
 * submission of the same notebook does not take the first one's session names.
 */
export function defaultName(notebookPath: string, batchId: string): string {
  return batchName({ notebookPath }, batchId);
}

/** Whether `name` is one the dialog proposes for this notebook (its slug, alone or with 4 characters). */
export function isProposedName(name: string, notebookPath: string): boolean {
  const slug = slugify((notebookPath.split('/').pop() ?? '').replace(/\.ipynb$/i, ''), 40);
  return name === slug || new RegExp(`^${slug}-[a-z0-9]{4}$`).test(name);
}

export interface SubmitFormOptions {
  trans: TranslationBundle;
  settings: ICanfarSettings;
  info: SubmitContext;
  /** The last submission of this notebook, over the settings' defaults (never its env: it may hold secrets). */
  initial?: Partial<Omit<SubmitInput, 'env'>>;
  /** Asks src/batch for the plan of a valid input; absent: the preview is computed here, roughly. */
  preview?: (value: SubmitValue) => Promise<PreviewResult>;
  /** Milliseconds to wait after the last keystroke before asking for a preview. */
  previewDelay?: number;
  /** The last 4 characters of the batch id this submission will have (default: random, as the CLI's). */
  batchSuffix?: string;
}

/**
 * The dialog body. Invalid fields carry `jp-mod-error`, which JupyterLab's Dialog reads to disable its
 * accept button; `getValue()` gives the validated value (or undefined).
 */
export class SubmitForm extends Widget implements Dialog.IBodyWidget<SubmitValue | undefined> {
  constructor(options: SubmitFormOptions) {
    super();
    this._options = options;
    this.addClass('jp-CanfarSubmit');
    const { trans, settings, info } = options;
    const params: Record<string, string> = {};
    for (const p of info.parameters ?? []) params[p.name] = p.default;
    const context = info.context;
    const res = settings.defaultResources;
    this._batchSuffix = options.batchSuffix ?? randomBase36(4);
    this._proposedName = defaultName(info.notebookPath, this._batchSuffix);
    this._input = {
      name: this._proposedName,
      image: settings.defaultImage || info.currentImage || firstImage(info.images) || '',
      flexible: res.flexible,
      cores: pick(res.cores, context?.cores.options, context?.cores.default),
      ram: pick(res.ram, context?.memoryGB.options, context?.memoryGB.default),
      gpus: res.gpus > 0 && context?.gpus.options.includes(res.gpus) ? res.gpus : 0,
      replicas: '1',
      env: '',
      params,
      sweeps: {},
      canary: false,
      expect: '',
      policy: settings.conversionPolicy,
    };
    const initial = { ...options.initial };
    // A name the dialog proposed for an earlier submission is that batch's: a fresh one is proposed.
    if (initial.name !== undefined && isProposedName(initial.name, info.notebookPath)) delete initial.name;
    for (const key of [
      'name',
      'image',
      'flexible',
      'cores',
      'ram',
      'gpus',
      'replicas',
      'policy',
      'canary',
      'expect',
    ] as const) {
      if (initial[key] !== undefined) (this._input as unknown as Record<string, unknown>)[key] = initial[key];
    }
    // Only parameters the notebook still declares.
    for (const [key, value] of Object.entries(initial.params ?? {}))
      if (key in params) this._input.params[key] = value;
    for (const [key, swept] of Object.entries(initial.sweeps ?? {}))
      if (key in params && swept) this._input.sweeps![key] = true;
    this._build(trans, info);
    this._validate();
  }

  /** The last 4 characters of this submission's batch id (the proposed name ends with them). */
  get batchSuffix(): string {
    return this._batchSuffix;
  }

  /** The name the dialog proposed (the notebook's slug and 4 characters of the batch id). */
  get proposedName(): string {
    return this._proposedName;
  }

  /** The current input (for tests and for remembering the last submission). */
  get input(): SubmitInput {
    return { ...this._input, params: { ...this._input.params }, sweeps: { ...this._input.sweeps } };
  }

  /** Parameter sets the fields make now (1 without a sweep). */
  get sets(): number {
    return this._sets;
  }

  get errors(): FieldErrors {
    return this._errors;
  }

  /** True when every field is valid (what enables the Submit button). */
  get valid(): boolean {
    return Object.keys(this._errors).length === 0 && this._plannerErrors.length === 0;
  }

  /** The latest preview request, for tests to await. */
  get previewDone(): Promise<void> {
    return this._previewDone;
  }

  getValue(): SubmitValue | undefined {
    if (!this.valid) return undefined;
    // Only overrides go to the replicas (validateSubmitInput leaves out untouched parameters).
    return validateSubmitInput(this._input, this._options.info, this._options.trans).value;
  }

  /** Sets a field as if the user typed it (tests, and "use last submission"). */
  set(field: keyof SubmitInput, value: SubmitInput[keyof SubmitInput]): void {
    (this._input as unknown as Record<string, unknown>)[field] = value;
    const control = this.node.querySelector<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(
      `[name="${String(field)}"]`,
    );
    if (control && typeof value !== 'object') {
      if (control instanceof HTMLInputElement && control.type === 'checkbox')
        control.checked = Boolean(value);
      else control.value = String(value);
    }
    this._validate();
  }

  private _build(trans: TranslationBundle, info: SubmitContext): void {
    const form = document.createElement('form');
    form.className = 'jp-CanfarSubmit-form';
    form.addEventListener('submit', (event) => event.preventDefault());
    const context = info.context;

    form.append(note(trans.__('Notebook: %1', info.notebookPath)));
    if (info.platformProblem) form.append(note(info.platformProblem, 'jp-CanfarSubmit-warning'));

    const name = input('name', this._input.name, 'text');
    form.append(field('name', trans.__('Name'), name, trans.__('Replica i is named <name>-i.')));

    const image = input('image', this._input.image, 'text');
    if (info.images && info.images.length > 0) {
      const list = document.createElement('datalist');
      list.id = `jp-CanfarSubmit-images-${++idCounter}`;
      const ordered = orderImages(info.images, info.currentImage);
      for (const id of ordered) {
        const option = document.createElement('option');
        option.value = id;
        list.append(option);
      }
      image.setAttribute('list', list.id);
      form.append(list);
    }
    form.append(field('image', trans.__('Image'), image));

    const flexible = document.createElement('input');
    flexible.type = 'checkbox';
    flexible.name = 'flexible';
    flexible.checked = this._input.flexible;
    const cores = select('cores', context?.cores.options ?? range(1, 16), this._input.cores);
    const ram = select('ram', context?.memoryGB.options ?? [1, 2, 4, 8, 16, 32], this._input.ram, ' GB');
    const toggleFixed = () => {
      cores.disabled = this._input.flexible;
      ram.disabled = this._input.flexible;
    };
    toggleFixed();
    const flexLabel = document.createElement('label');
    flexLabel.className = 'jp-CanfarSubmit-check';
    flexLabel.append(
      flexible,
      document.createTextNode(` ${trans.__('Flexible resources (the platform shares cores and memory)')}`),
    );
    form.append(flexLabel);
    const gpus = select('gpus', [0, ...(context?.gpus.options ?? [])], this._input.gpus);
    const replicas = input('replicas', this._input.replicas, 'number');
    this._replicasLabel = trans.__('Replicas (1 to %1)', MAX_REPLICAS);
    replicas.min = '1';
    replicas.max = String(MAX_REPLICAS);
    // One row for the numbers, so that the plan stays in view.
    const row = document.createElement('div');
    row.className = 'jp-CanfarSubmit-row';
    row.append(
      field('cores', trans.__('Cores (fixed)'), cores),
      field('ram', trans.__('Memory (fixed)'), ram),
      field('gpus', trans.__('GPUs'), gpus),
      field('replicas', this._replicasLabel, replicas),
    );
    form.append(row);
    form.append(
      note(
        trans.__('Each replica gets REPLICA_ID (1..N) and REPLICA_COUNT (N) to pick its share of the data.'),
      ),
    );

    const env = document.createElement('textarea');
    env.name = 'env';
    env.rows = 3;
    env.placeholder = 'NAME=value';
    env.className = 'jp-mod-styled';
    form.append(field('env', trans.__('Environment (one NAME=value per line)'), env));

    const parameters = info.parameters ?? [];
    if (parameters.length > 0) {
      const box = document.createElement('fieldset');
      box.className = 'jp-CanfarSubmit-params';
      const legend = document.createElement('legend');
      legend.textContent = trans.__('Parameters (from the cell tagged "parameters")');
      box.append(legend);
      box.append(
        note(
          trans.__(
            'One value per parameter, or tick "sweep" and give a list (a, b, c, or a JSON list ["a,b", "c"]): the batch then runs every combination, each as the replicas above.',
          ),
          'jp-CanfarSubmit-help',
        ),
      );
      for (const p of parameters) {
        // A default written over several lines gets a text area (a one-line field drops new lines).
        const text = this._input.params[p.name] ?? p.default;
        const control = text.includes('\n')
          ? textarea(`param:${p.name}`, text)
          : input(`param:${p.name}`, text, 'text');
        control.dataset.param = p.name;
        const sweep = document.createElement('input');
        sweep.type = 'checkbox';
        sweep.name = `sweep:${p.name}`;
        sweep.dataset.sweep = p.name;
        sweep.checked = Boolean(this._input.sweeps?.[p.name]);
        sweep.setAttribute('aria-label', trans.__('Sweep %1 over a list of values', p.name));
        const label = document.createElement('label');
        label.className = 'jp-CanfarSubmit-check jp-CanfarSubmit-sweepToggle';
        label.append(sweep, document.createTextNode(` ${trans.__('sweep')}`));
        const row = field(`param:${p.name}`, `${p.name} (${p.type})`, control);
        row.insertBefore(label, control.nextSibling);
        box.append(row);
      }
      // The live count of sets and sessions; problems of the sweep as a whole are shown here.
      this._sweepCount = document.createElement('div');
      this._sweepCount.className = 'jp-CanfarSubmit-note';
      this._sweepCount.dataset.canfar = 'sweep-count';
      this._sweepCount.setAttribute('aria-live', 'polite');
      const countField = field('sweep', '', this._sweepCount);
      countField.querySelector('label')?.remove();
      box.append(countField);
      form.append(box);
    }

    const canary = document.createElement('input');
    canary.type = 'checkbox';
    canary.name = 'canary';
    canary.checked = Boolean(this._input.canary);
    const canaryLabel = document.createElement('label');
    canaryLabel.className = 'jp-CanfarSubmit-check';
    canaryLabel.append(
      canary,
      document.createTextNode(
        ` ${trans.__('Try one first: launch replica 1 alone, and the others only once it has completed')}`,
      ),
    );
    form.append(canaryLabel);
    const expect = input('expect', this._input.expect ?? '', 'text');
    expect.placeholder = 'results/part-{replica}.json';
    form.append(
      field(
        'expect',
        trans.__('Expected outputs (optional)'),
        expect,
        trans.__(
          'Paths each replica must write, relative to the notebook, separated by spaces: {replica}, {set}, {shard} and * are filled in. A replica that exits 0 without one counts as failed.',
        ),
      ),
    );

    const policy = document.createElement('select');
    policy.name = 'policy';
    policy.className = 'jp-mod-styled';
    for (const [value, label] of [
      ['translate', trans.__('Translate magics to Python where possible')],
      ['ipython', trans.__('Run with IPython (magics work; image needs ipython)')],
      ['comment', trans.__('Comment magics out')],
    ] as const) {
      const option = document.createElement('option');
      option.value = value;
      option.textContent = label;
      policy.append(option);
    }
    policy.value = this._input.policy;
    form.append(field('policy', trans.__('Magics'), policy));

    this._plan = document.createElement('div');
    this._plan.className = 'jp-CanfarSubmit-plan';
    this._plan.dataset.canfar = 'plan';
    form.append(this._plan);

    form.addEventListener('input', (event) => {
      const target = event.target as HTMLInputElement;
      if (target.dataset.param) this._input.params[target.dataset.param] = target.value;
      else if (target.dataset.sweep)
        this._input.sweeps = { ...this._input.sweeps, [target.dataset.sweep]: target.checked };
      else if (target.name === 'canary') this._input.canary = target.checked;
      else if (target.name === 'flexible') {
        this._input.flexible = target.checked;
        toggleFixed();
      } else if (target.name === 'cores' || target.name === 'ram' || target.name === 'gpus') {
        this._input[target.name] = Number(target.value);
      } else if (target.name in this._input) {
        (this._input as unknown as Record<string, unknown>)[target.name] = target.value;
      }
      this._validate();
    });
    // Selects and checkboxes fire `change` in older browsers.
    form.addEventListener(
      'change',
      (event) => form.dispatchEvent(new Event('input', { bubbles: true })) && event.stopPropagation(),
    );
    this.node.append(form);
  }

  private _validate(): void {
    const { trans, info } = this._options;
    const { errors, value, sets } = validateSubmitInput(this._input, info, trans);
    this._errors = errors;
    this._sets = sets ?? 1;
    this._showCount();
    this._showErrors();
    if (value) this._schedulePreview(value);
    else {
      this._plannerErrors = [];
      this._renderPlan(undefined);
    }
  }

  /** "3 x 2 = 6 parameter sets x 2 replicas each = 12 sessions", while a parameter is swept. */
  private _showCount(): void {
    const node = this._sweepCount;
    const trans = this._options.trans;
    const swept = Object.entries(this._input.sweeps ?? {}).filter(([, on]) => on);
    const replicas = /^\d+$/.test(this._input.replicas.trim()) ? Number(this._input.replicas.trim()) : NaN;
    const label = this.node.querySelector('[data-field="replicas"] label');
    if (label)
      label.textContent =
        swept.length > 0 ? trans.__('Replicas per set (1 to %1)', MAX_REPLICAS) : this._replicasLabel;
    if (!node) return;
    if (swept.length === 0) {
      node.textContent = trans.__('No parameter is swept: one set of values.');
      return;
    }
    const sessions = Number.isInteger(replicas) ? this._sets * replicas : NaN;
    node.textContent = Number.isNaN(sessions)
      ? trans._n('%1 parameter set', '%1 parameter sets', this._sets, this._sets)
      : trans.__(
          '%1 parameter set(s) x %2 replica(s) per set = %3 session(s)%4',
          this._sets,
          replicas,
          sessions,
          sessions > MAX_SESSIONS ? trans.__(' (at most %1)', MAX_SESSIONS) : '',
        );
  }

  private _showErrors(): void {
    const all: Record<string, string> = { ...(this._errors as Record<string, string>) };
    for (const problem of this._plannerErrors) {
      // A problem goes under the field it names when the form has that field, else under the plan.
      const key = problem.field in all || this._fields().has(problem.field) ? problem.field : 'plan';
      all[key] = all[key] ? `${all[key]} ${problem.message}` : problem.message;
    }
    for (const node of Array.from(this.node.querySelectorAll<HTMLElement>('.jp-CanfarSubmit-field'))) {
      const key = node.dataset.field ?? '';
      const message = all[key];
      const error = node.querySelector<HTMLElement>('.jp-CanfarSubmit-error');
      const control = node.querySelector<HTMLElement>('input, select, textarea');
      if (error) error.textContent = message ?? '';
      // `jp-mod-error` is what the Dialog checks to disable its accept button.
      control?.classList.toggle('jp-mod-error', message !== undefined);
      control?.setAttribute('aria-invalid', String(message !== undefined));
    }
    const general = all.plan;
    this._plan?.classList.toggle('jp-mod-error', general !== undefined);
    // Let the enclosing Dialog re-check its accept button (it listens to `input`).
    this._notifyDialog();
  }

  private _notifyDialog(): void {
    const dialog = this.node.closest('.jp-Dialog');
    if (!dialog) return;
    // The Dialog re-checks `jp-mod-error` on `input` events, but may have seen the user's event before
    // this form updated its classes: send it one more from outside the form (the form does not hear it).
    this.node.dispatchEvent(new Event('input', { bubbles: true }));
    const invalid = !this.valid;
    for (const button of Array.from(
      dialog.querySelectorAll<HTMLButtonElement>('.jp-Dialog-button.jp-mod-accept'),
    )) {
      button.disabled = invalid;
    }
  }

  protected override onAfterAttach(): void {
    this._notifyDialog();
  }

  private _schedulePreview(value: SubmitValue): void {
    const preview = this._options.preview;
    if (!preview) {
      this._plannerErrors = [];
      this._renderPlan(
        localPreview(value, this._options.info.notebookPath, this._options.trans, this._options.info.context),
      );
      return;
    }
    const token = ++this._previewToken;
    this._previewDone = new Promise<void>((resolve) => {
      setTimeout(async () => {
        if (token !== this._previewToken || this.isDisposed) return resolve();
        try {
          const result = await preview(value);
          if (token !== this._previewToken || this.isDisposed) return resolve();
          this._plannerErrors = result.problems ?? [];
          this._renderPlan(result.plan);
        } catch (error) {
          this._plannerErrors = [
            { field: 'plan', message: error instanceof Error ? error.message : String(error) },
          ];
          this._renderPlan(undefined);
        }
        this._showErrors();
        resolve();
      }, this._options.previewDelay ?? 250);
    });
  }

  private _renderPlan(plan: PlanPreview | undefined): void {
    const node = this._plan;
    if (!node) return;
    const trans = this._options.trans;
    node.replaceChildren();
    const title = document.createElement('h4');
    title.textContent = trans.__('Plan');
    node.append(title);
    if (!plan) {
      const fields = this._fields();
      const general = this._plannerErrors.filter((p) => !FIELD_NAMES.has(p.field) && !fields.has(p.field));
      node.append(
        note(
          general.length > 0
            ? general.map((p) => `${p.field}: ${p.message}`).join(' ')
            : trans.__('Correct the fields in error to see the plan.'),
          general.length > 0 ? 'jp-CanfarSubmit-error' : undefined,
        ),
      );
      return;
    }
    const n = plan.names.length;
    const shown =
      n <= 4 ? plan.names.join(', ') : `${plan.names.slice(0, 3).join(', ')}, …, ${plan.names[n - 1]}`;
    const list = document.createElement('ul');
    const sweep = plan.sweep;
    for (const line of [
      trans._n('%1 headless session: %2', '%1 headless sessions: %2', n, shown),
      ...(sweep
        ? [
            trans.__(
              'Sweep of %1: %2 parameter set(s) x %3 replica(s) per set',
              sweep.parameters.join(', '),
              sweep.setCount,
              sweep.shards,
            ),
          ]
        : []),
      ...(plan.canary ? [trans.__('Canary: replica 1 first, the others once it has completed')] : []),
      ...(plan.combineCells
        ? [
            trans.__(
              'Combine: cell(s) %1, once, after every replica has completed',
              plan.combineCells.join(', '),
            ),
          ]
        : []),
      trans.__('Image: %1', plan.image),
      trans.__('Resources: %1', plan.resources),
      trans.__('Batch folder: %1', plan.absoluteFolder ?? plan.folder),
    ]) {
      const item = document.createElement('li');
      item.textContent = line;
      list.append(item);
    }
    node.append(list);
    if (sweep) node.append(setsTable(sweep, trans));
    for (const warning of plan.warnings) node.append(note(warning, 'jp-CanfarSubmit-warning'));
  }

  /** The keys of the form's fields (`name`, `param:alpha`, `sweep`...). */
  private _fields(): Set<string> {
    return new Set(
      Array.from(this.node.querySelectorAll<HTMLElement>('.jp-CanfarSubmit-field')).map(
        (n) => n.dataset.field ?? '',
      ),
    );
  }

  private _options: SubmitFormOptions;
  private _batchSuffix: string;
  private _proposedName: string;
  private _input: SubmitInput;
  private _sets = 1;
  private _replicasLabel = '';
  private _sweepCount?: HTMLElement;
  private _errors: FieldErrors = {};
  private _plannerErrors: { field: string; message: string }[] = [];
  private _plan?: HTMLElement;
  private _previewToken = 0;
  private _previewDone: Promise<void> = Promise.resolve();
}

/** Unique ids for label/control pairs and datalists. */
let idCounter = 0;

const FIELD_NAMES = new Set([
  'name',
  'image',
  'cores',
  'ram',
  'gpus',
  'replicas',
  'env',
  'policy',
  'expect',
  'sweep',
]);

/** The sets of a sweep as a small table: set, values, sessions (the first and last few of a large sweep). */
function setsTable(sweep: NonNullable<PlanPreview['sweep']>, trans: TranslationBundle): HTMLElement {
  const table = document.createElement('table');
  table.className = 'jp-CanfarSubmit-sets';
  table.dataset.canfar = 'sets';
  const head = table.createTHead().insertRow();
  for (const text of [trans.__('Set'), ...sweep.parameters, trans.__('Sessions')]) {
    const cell = document.createElement('th');
    cell.textContent = text;
    head.append(cell);
  }
  const body = table.createTBody();
  let previous = 0;
  for (const row of sweep.sets) {
    if (row.set > previous + 1) {
      const gap = body.insertRow().insertCell();
      gap.colSpan = sweep.parameters.length + 2;
      gap.textContent = trans.__('… %1 more set(s) …', row.set - previous - 1);
    }
    previous = row.set;
    const tr = body.insertRow();
    for (const text of [
      String(row.set),
      ...sweep.parameters.map((p) => row.values[p] ?? '·'),
      row.sessions.join(', '),
    ])
      tr.insertCell().textContent = text;
  }
  return table;
}

/** The plan as far as the form can tell without src/batch: names, resources, where the folder goes. */
export function localPreview(
  value: SubmitValue,
  notebookPath: string,
  trans?: TranslationBundle,
  context?: SkahaContext,
): PlanPreview {
  const __ = (text: string, ...args: (string | number)[]) =>
    trans
      ? trans.__(text, ...args)
      : args.reduce<string>((s, a, i) => s.replace(`%${i + 1}`, String(a)), text);
  const sets = Object.values(value.sweep ?? {}).reduce((product, list) => product * list.length, 1);
  const shape = { sets, shards: value.replicas, swept: value.sweep !== undefined };
  const names = Array.from({ length: sets * value.replicas }, (_, i) =>
    sessionNameOf(value.name, i + 1, shape),
  );
  const dir = notebookPath.includes('/') ? notebookPath.slice(0, notebookPath.lastIndexOf('/')) : '';
  const flexible = flexibleResources(context);
  const resources =
    value.cores === undefined
      ? __(
          'flexible (%1 core / %2 GB requested, up to %3 / %4)',
          flexible.requestCores,
          flexible.requestRamGB,
          flexible.limitCores,
          flexible.limitRamGB,
        )
      : __('%1 cores, %2 GB', value.cores, value.ram ?? '');
  return {
    names,
    folder: `${dir ? `${dir}/` : ''}${BATCHES_FOLDER}/<batch-id>/`,
    resources: value.gpus ? __('%1, %2 GPU', resources, value.gpus) : resources,
    image: value.image,
    warnings: [],
  };
}

function firstImage(images: SkahaImage[] | undefined): string | undefined {
  return images?.find((image) => image.types.includes('headless'))?.id ?? images?.[0]?.id;
}

function orderImages(images: SkahaImage[], current?: string): string[] {
  const ids = images.map((image) => image.id).sort();
  if (current && ids.includes(current)) return [current, ...ids.filter((id) => id !== current)];
  return ids;
}

function pick(wanted: number, options: number[] | undefined, fallback: number | undefined): number {
  if (!options || options.length === 0 || options.includes(wanted)) return wanted;
  return fallback !== undefined && options.includes(fallback) ? fallback : options[0];
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function input(name: string, value: string, type: string): HTMLInputElement {
  const node = document.createElement('input');
  node.type = type;
  node.name = name;
  node.value = value;
  node.className = 'jp-mod-styled';
  return node;
}

function textarea(name: string, value: string): HTMLTextAreaElement {
  const node = document.createElement('textarea');
  node.name = name;
  node.value = value;
  node.rows = Math.min(4, value.split('\n').length);
  node.className = 'jp-mod-styled';
  return node;
}

function select(name: string, options: number[], value: number, unit = ''): HTMLSelectElement {
  const node = document.createElement('select');
  node.name = name;
  node.className = 'jp-mod-styled';
  for (const option of options) {
    const item = document.createElement('option');
    item.value = String(option);
    item.textContent = `${option}${unit}`;
    node.append(item);
  }
  node.value = String(value);
  return node;
}

function field(key: string, label: string, control: HTMLElement, help?: string): HTMLElement {
  const node = document.createElement('div');
  node.className = 'jp-CanfarSubmit-field';
  node.dataset.field = key;
  const caption = document.createElement('label');
  caption.textContent = label;
  const id = `jp-CanfarSubmit-${++idCounter}`;
  control.id = id;
  caption.htmlFor = id;
  const error = document.createElement('div');
  error.className = 'jp-CanfarSubmit-error';
  error.setAttribute('role', 'alert');
  node.append(caption, control);
  if (help) node.append(note(help, 'jp-CanfarSubmit-help'));
  node.append(error);
  return node;
}

function note(text: string, className?: string): HTMLElement {
  const node = document.createElement('div');
  node.className = className ?? 'jp-CanfarSubmit-note';
  node.textContent = text;
  return node;
}
