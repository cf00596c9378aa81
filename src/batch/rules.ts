/**
 * The rules of a batch plan, one small function each, testable alone: each takes what it needs, returns
 * what it decides, and adds what is wrong to a `Findings` (problems refuse the batch, warnings are shown).
 * `planBatch` (plan.ts) runs them all, so that every problem is reported at once.
 */
import { convertNotebook, encodeParamEnv } from '../convert';
import type { CombineScript, ConversionDiagnostic, ConversionResult, NotebookParameter } from '../convert';
import {
  envProblems,
  imageProblems,
  MAX_REPLICAS,
  nameProblems,
  replicaCountProblems,
  resourceProblems,
} from '../skaha';
import type { SessionSpec } from '../skaha';
import { slugify } from './ids';
import { identityEnv, identityOf, longestSessionName, replicaTotal, sessionNameOf } from './identity';
import type { BatchShape } from './identity';
import { checkParamValue, defaultKey } from './params';
import type { ParamValue } from './params';
import { batchFolder } from './paths';
import { basename, joinPath } from './store';
import type { BatchStore } from './store';
import { expandSweep, sweepParameters, sweepSetCount, tooManySessions } from './sweep';
import type { SweepInput, SweepRecord } from './sweep';
import type { BatchInput, PlannedReplica, PlanProblem, PlatformInfo, RerunSource } from './types';

/** Env values of names like these are sent to the replicas but never written to batch.json. */
export const SECRET_NAME = /TOKEN|SECRET|PASSW|KEY|CREDENTIAL|AUTH|COOKIE|PRIVATE/i;
/** Names the batch sets itself: a user value would be silently replaced. */
export const RESERVED_ENV =
  /^(REPLICA_ID|REPLICA_COUNT|CANFAR_BATCH_ID|CANFAR_BATCH_DIR|CANFAR_BATCH_REPLICA_ID|CANFAR_BATCH_REPLICA_COUNT|CANFAR_SET_ID|CANFAR_SET_COUNT|CANFAR_OUTPUT_DIR|CANFAR_PARAM_.*|skaha_.*)$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** What the rules found: problems (the batch is refused) and warnings (shown, the batch goes on). */
export class Findings {
  readonly problems: PlanProblem[] = [];
  readonly warnings: string[] = [];
  add(problem: PlanProblem): void {
    this.problems.push(problem);
  }
  warn(warning: string): void {
    this.warnings.push(warning);
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A problem from a src/skaha rule message (`cores=999 is not offered...`), on the field it names. */
function skahaProblem(rule: string, field?: string): PlanProblem {
  return { field: field ?? /^(\w+(?:\[\d+\])?)/.exec(rule)?.[1] ?? 'session', rule };
}

// ---------------------------------------------------------------------------------------------------
// conversion

export interface PlannedConversion {
  script: string;
  language: string;
  extension: string;
  interpreter: { command: string; args: string[] };
  diagnostics: ConversionDiagnostic[];
  parameters: NotebookParameter[];
  /** The script starts an IPython shell for these cells' magics: the image needs IPython. */
  needsIPython?: ConversionResult['needsIPython'];
  /** The cells tagged `combine`, as a script of their own (run once, after every replica). */
  combine?: CombineScript;
}

const EMPTY_CONVERSION: PlannedConversion = {
  script: '',
  language: 'unknown',
  extension: '.txt',
  interpreter: { command: 'false', args: [] },
  diagnostics: [],
  parameters: [],
};

/** The parent's script and what the parent recorded of it (a re-run runs the script as it was). */
export function rerunConversion(rerun: RerunSource): PlannedConversion {
  const parent = rerun.parent;
  return {
    script: rerun.script,
    language: parent.notebook.language,
    extension: parent.script.file.slice(parent.script.file.lastIndexOf('.')),
    interpreter: parent.script.interpreter,
    diagnostics: parent.script.diagnostics,
    parameters: parent.parameters.declared,
    ...(parent.combine && rerun.combineScript !== undefined
      ? { combine: { script: rerun.combineScript, cells: parent.combine.cells } }
      : {}),
  };
}

/**
 * The notebook converted to the replicas' script (and the combine script, for cells tagged `combine`):
 * conversion errors are problems naming the cell, warnings are shown.
 */
export function conversionRule(
  input: Pick<BatchInput, 'notebookPath' | 'notebookText' | 'policy' | 'unknownMagics'>,
  findings: Findings,
): PlannedConversion {
  const policy = input.policy ?? 'translate';
  let notebook: unknown;
  try {
    notebook = JSON.parse(input.notebookText);
  } catch (error) {
    findings.add({
      field: 'notebook',
      value: input.notebookPath,
      rule: `is not valid JSON: ${errorMessage(error)}`,
    });
    return EMPTY_CONVERSION;
  }
  try {
    const result = convertNotebook(notebook, {
      policy,
      unknownMagics: input.unknownMagics,
      // `cell k/N` lines in the log tell which cell a failed replica was running.
      progress: true,
      notebookPath: input.notebookPath,
    });
    for (const diagnostic of result.diagnostics) {
      const where = `cell ${diagnostic.cell + 1}${diagnostic.line ? ` line ${diagnostic.line}` : ''}`;
      if (diagnostic.severity === 'error')
        findings.add({
          field: 'notebook',
          value: where,
          rule: diagnostic.message,
          hint: `conversion policy '${policy}'`,
        });
      else if (diagnostic.severity === 'warning') findings.warn(`${where}: ${diagnostic.message}`);
    }
    if (result.needsIPython) findings.warn(result.needsIPython.message);
    if (!result.ok && !result.diagnostics.some((d) => d.severity === 'error'))
      findings.add({
        field: 'notebook',
        value: input.notebookPath,
        rule: 'could not be converted to a script',
      });
    return result;
  } catch (error) {
    findings.add({
      field: 'notebook',
      value: input.notebookPath,
      rule: `could not be converted: ${errorMessage(error)}`,
    });
    return EMPTY_CONVERSION;
  }
}

// ---------------------------------------------------------------------------------------------------
// parameters and sweep

function undeclared(
  name: string,
  declared: NotebookParameter[],
  field: string,
  value?: unknown,
): PlanProblem {
  return {
    field,
    ...(value !== undefined ? { value } : {}),
    rule: declared.length
      ? `${name} is not a parameter of the notebook (its parameters cell declares: ${declared.map((p) => p.name).join(', ')})`
      : 'the notebook has no cell tagged "parameters"',
    hint: 'tag the cell that assigns the defaults with "parameters"',
  };
}

/**
 * Batch-wide overrides: only parameters the notebook declares, each value parsed with the parameter's
 * type. Returns the values to send (text, as the replica receives it), leaving out those equal to the
 * notebook's default; a re-run's parent overrides are taken as recorded.
 */
export function parametersRule(
  declared: NotebookParameter[],
  params: Record<string, string> | undefined,
  parentOverrides: Record<string, string> | undefined,
  findings: Findings,
): Record<string, string> {
  const overrides: Record<string, string> = { ...parentOverrides };
  for (const [name, value] of Object.entries(params ?? {})) {
    const parameter = declared.find((p) => p.name === name);
    if (!parameter) {
      findings.add(undeclared(name, declared, `param ${name}`, value));
      continue;
    }
    const check = checkParamValue(parameter, value);
    if (!check.ok) findings.add({ field: `param ${name}`, value, rule: check.rule });
    else if (check.key === defaultKey(parameter)) delete overrides[name];
    else overrides[name] = check.text;
  }
  return overrides;
}

/**
 * The sweep's sets: every value parsed with its parameter's type, problems for an unknown parameter, a
 * bad value, an empty list, a parameter also given as --param, duplicate sets, and more than 512 sessions
 * (counted before expanding: an oversized sweep costs nothing). Returns the record of the sets.
 */
export function sweepRule(
  declared: NotebookParameter[],
  sweep: SweepInput | undefined,
  params: Record<string, string> | undefined,
  shards: number,
  findings: Findings,
): SweepRecord | undefined {
  if (sweep === undefined) return undefined;
  const before = findings.problems.length;
  const shape = sweepShape(declared, sweep, params, shards, findings);
  if (!shape) return undefined;
  const check = sweepValues(declared, sweep, findings);
  if (findings.problems.length > before) return undefined;
  const sets = sweepSets(declared, sweep, shape.names, check, findings);
  return findings.problems.length > before
    ? undefined
    : { parameters: shape.names, sets, shards: shape.shards };
}

/** The sweep's parameters (declared, not also single values), its lists (not empty), its size (<= 512). */
function sweepShape(
  declared: NotebookParameter[],
  sweep: SweepInput,
  params: Record<string, string> | undefined,
  shards: number,
  findings: Findings,
): { names: string[]; shards: number } | undefined {
  if (sweep === null || typeof sweep !== 'object') {
    findings.add({ field: 'sweep', value: sweep, rule: 'must be axes ({name: [values]}) or a list of sets' });
    return undefined;
  }
  const names = sweepParameters(sweep);
  if (names.length === 0)
    findings.add({ field: 'sweep', rule: 'names no parameter: give at least one value list' });
  for (const name of names) {
    if (!declared.some((p) => p.name === name)) findings.add(undeclared(name, declared, `sweep ${name}`));
    else if (params && name in params)
      findings.add({
        field: `sweep ${name}`,
        rule: `${name} is given both as a single value (--param) and swept`,
        hint: 'give it in one place',
      });
  }
  if (!Array.isArray(sweep))
    for (const [name, values] of Object.entries(sweep))
      if (!Array.isArray(values) || values.length === 0)
        findings.add({
          field: `sweep ${name}`,
          rule: `the list of values of ${name} is empty`,
          hint: 'give at least one value',
        });
  const count = sweepSetCount(sweep);
  if (Array.isArray(sweep) && count === 0)
    findings.add({ field: 'sweep', rule: 'the list of parameter sets is empty' });
  const valid = Number.isInteger(shards) && shards >= 1 ? shards : 1;
  if (count * valid > MAX_REPLICAS) {
    findings.add({ field: 'sweep', value: count * valid, rule: tooManySessions(count, valid) });
    return undefined;
  }
  return { names, shards: valid };
}

type ValueCheck = (name: string, value: ParamValue) => ReturnType<typeof checkParamValue>;

/** Every value once, with its parameter's type (an axis's list, or each set's values); a bad one is named. */
function sweepValues(declared: NotebookParameter[], sweep: SweepInput, findings: Findings): ValueCheck {
  const byName = new Map(declared.map((p) => [p.name, p]));
  const checked = new Map<string, ReturnType<typeof checkParamValue>>();
  const check: ValueCheck = (name, value) => {
    const id = `${name}\u0000${JSON.stringify(value)}`;
    let result = checked.get(id);
    if (!result) {
      result = checkParamValue(byName.get(name)!, value);
      checked.set(id, result);
      if (!result.ok) findings.add({ field: `sweep ${name}`, value, rule: result.rule });
    }
    return result;
  };
  const values: [string, ParamValue][] = Array.isArray(sweep)
    ? sweep.flatMap((set) => Object.entries(set ?? {}))
    : Object.entries(sweep).flatMap(([name, list]) =>
        Array.isArray(list) ? list.map((v): [string, ParamValue] => [name, v]) : [],
      );
  for (const [name, value] of values) if (byName.has(name) && value !== undefined) check(name, value);
  return check;
}

/** The sets in order, as the text each replica receives; two sets with the same values are refused. */
function sweepSets(
  declared: NotebookParameter[],
  sweep: SweepInput,
  names: string[],
  check: ValueCheck,
  findings: Findings,
): Record<string, string>[] {
  const byName = new Map(declared.map((p) => [p.name, p]));
  const sets: Record<string, string>[] = [];
  const keys = new Map<string, number>();
  expandSweep(sweep).forEach((set, index) => {
    const record: Record<string, string> = {};
    const key = names.map((name) => {
      const value = (set as Record<string, ParamValue>)[name];
      if (value === undefined) return defaultKey(byName.get(name)!);
      const result = check(name, value) as Extract<ReturnType<typeof checkParamValue>, { ok: true }>;
      record[name] = result.text;
      return result.key;
    });
    const first = keys.get(JSON.stringify(key));
    if (first !== undefined)
      findings.add({
        field: 'sweep',
        value: record,
        rule: `sets ${first} and ${index + 1} are the same (${names.map((n) => `${n}=${record[n] ?? '(default)'}`).join(', ')})`,
        hint: 'each set must differ in at least one value',
      });
    else keys.set(JSON.stringify(key), index + 1);
    sets.push(record);
  });
  return sets;
}

// ---------------------------------------------------------------------------------------------------
// replicas and names

/**
 * The batch's shape (S sets x R shards) and the replica ids to launch: R in 1..512 (the 512 rule for
 * S x R is the sweep rule's); a re-run launches the given ids of its parent (each keeps its identity).
 */
export function replicasRule(
  replicas: number,
  sweep: SweepRecord | undefined,
  rerun: RerunSource | undefined,
  findings: Findings,
): { shape: BatchShape; ids: number[] } {
  const parent = rerun?.parent;
  let shape: BatchShape;
  if (parent) {
    shape = parent.sweep
      ? { sets: parent.sweep.sets.length, shards: parent.sweep.shards, swept: true }
      : { sets: 1, shards: parent.replicaCount, swept: false };
  } else {
    for (const rule of replicaCountProblems(replicas))
      findings.add({
        field: 'replicas',
        value: replicas,
        rule: sweep ? `${rule} (shards per parameter set)` : rule,
      });
    const shards = Number.isInteger(replicas) ? Math.max(0, Math.min(replicas, MAX_REPLICAS)) : 0;
    shape = sweep ? { sets: sweep.sets.length, shards, swept: true } : { sets: 1, shards, swept: false };
  }
  const total = replicaTotal(shape);
  let ids = Array.from({ length: total }, (_, i) => i + 1);
  if (rerun?.replicaIds) {
    const bad = rerun.replicaIds.filter((id) => !Number.isInteger(id) || id < 1 || id > total);
    if (bad.length > 0)
      findings.add({ field: 'replicas', value: bad, rule: `replica ids must be in 1..${total}` });
    if (rerun.replicaIds.length === 0)
      findings.add({ field: 'replicas', value: [], rule: 'nothing to re-run: no replica given' });
    ids = [...new Set(rerun.replicaIds)].filter((id) => id >= 1 && id <= total).sort((a, b) => a - b);
  }
  return { shape, ids };
}

/** The session name prefix: as given (lower-cased), else the notebook's name plus 4 characters of the batch id. */
export function batchName(input: Pick<BatchInput, 'name' | 'notebookPath'>, batchId: string): string {
  return (
    input.name ?? `${slugify(basename(input.notebookPath).replace(/\.ipynb$/i, ''), 40)}-${batchId.slice(-4)}`
  ).toLowerCase();
}

/**
 * The name rules (letters, digits, `-`; the longest replica name within 63 characters), and no session
 * of the caller may carry one of the replica names: reconciliation and the monitor would take it for a
 * replica. `own` are the sessions the batch itself launched before (re-run failed in place).
 */
export function namesRule(
  name: string,
  shape: BatchShape,
  ids: number[],
  platform: PlatformInfo,
  findings: Findings,
  own: ReadonlySet<string> = new Set(),
): string[] {
  const total = replicaTotal(shape);
  // Without a sweep (or one shard per set) names are <name>-<i>; else <name>-<set>-<shard>.
  const sweepSuffix = shape.swept && shape.shards > 1;
  for (const rule of nameProblems(
    name,
    sweepSuffix ? { names: [longestSessionName(name, shape)] } : { replicas: Math.max(1, total) },
  ))
    findings.add(skahaProblem(rule, 'name'));
  const names = ids.map((id) => sessionNameOf(name, id, shape));
  const taken = new Map(
    (platform.sessions ?? [])
      .filter((s) => !own.has(s.id))
      .map((session) => [session.name.toLowerCase(), session]),
  );
  const clashes = names.filter((replica) => taken.has(replica));
  if (clashes.length > 0) {
    const first = taken.get(clashes[0]);
    findings.add({
      field: 'name',
      value: name,
      rule: `${clashes.length} replica name(s) are used by existing sessions (${clashes.slice(0, 3).join(', ')}${clashes.length > 3 ? ', ...' : ''}; ${clashes[0]} is session ${first?.id}, ${first?.status})`,
      hint: 'choose another --name, or delete those sessions',
    });
  }
  return names;
}

// ---------------------------------------------------------------------------------------------------
// resources, image, env, paths, expected outputs

/** cores, RAM and GPUs: whole numbers among the platform's /context options (gpus never 0). */
export function resourcesRule(
  input: Pick<BatchInput, 'cores' | 'ram' | 'gpus'>,
  platform: PlatformInfo,
  findings: Findings,
): { cores?: number; ram?: number; gpus?: number } {
  const resources = {
    ...(input.cores !== undefined ? { cores: input.cores } : {}),
    ...(input.ram !== undefined ? { ram: input.ram } : {}),
    ...(input.gpus !== undefined ? { gpus: input.gpus } : {}),
  };
  for (const rule of resourceProblems(resources, platform.context)) findings.add(skahaProblem(rule));
  return resources;
}

/** The image: on an allowed registry (/repository); if /image lists it, for headless sessions. */
export function imageRule(image: string, platform: PlatformInfo, findings: Findings): void {
  for (const rule of imageProblems(image, platform.repositories)) findings.add(skahaProblem(rule, 'image'));
  const listed = platform.images?.find((entry) => entry.id === image);
  if (listed && !listed.types.includes('headless')) {
    findings.add({
      field: 'image',
      value: image,
      rule: `is listed for ${listed.types.join(', ')} sessions, not headless`,
    });
  } else if (platform.images && !listed && image) {
    findings.warn(
      `image ${image} is not in the platform's list of headless images: it must be pullable (public, or give registry credentials)`,
    );
  }
}

/**
 * The user's environment: valid names, not set by the batch itself, values the service keeps (not
 * empty, no `=`); a re-run takes its parent's, and needs secret values (never stored) given again.
 */
export function envRule(
  env: Record<string, string> | undefined,
  parentEnv: { names: string[]; values: Record<string, string> } | undefined,
  findings: Findings,
): Record<string, string> {
  const result: Record<string, string> = {};
  for (const name of parentEnv?.names ?? []) {
    if (RESERVED_ENV.test(name)) continue;
    const value = env?.[name] ?? parentEnv?.values[name];
    if (value === undefined)
      findings.add({
        field: `env ${name}`,
        rule: 'its value was not stored (secret-looking name), so it cannot be re-used',
        hint: `give it again with -e ${name}=VALUE`,
      });
    else result[name] = value;
  }
  for (const [name, value] of Object.entries(env ?? {})) {
    if (!ENV_NAME.test(name))
      findings.add({
        field: 'env',
        value: name,
        rule: 'an environment variable name is letters, digits and _ and does not start with a digit',
      });
    else if (RESERVED_ENV.test(name))
      findings.add({
        field: 'env',
        value: name,
        rule: 'is set by the batch itself',
        hint: name.startsWith('CANFAR_PARAM_')
          ? `use --param ${name.slice('CANFAR_PARAM_'.length)}=VALUE`
          : 'choose another name',
      });
    else result[name] = value;
  }
  for (const rule of envProblems(result)) findings.add(skahaProblem(rule, 'env'));
  return result;
}

/**
 * The batch folder `<notebook dir>/canfar-batches/<id>`: no space in its absolute path (Skaha splits a
 * command on spaces), new (nothing is overwritten), and under /arc when the endpoint is CANFAR.
 */
export async function pathsRule(
  notebookPath: string,
  batchId: string,
  store: BatchStore,
  endpoint: string | undefined,
  findings: Findings,
  existing?: string,
): Promise<{ folder: string; absoluteFolder: string }> {
  const folder = existing ?? batchFolder(notebookPath, batchId);
  const absoluteFolder = store.absolutePath(folder);
  if (/\s/.test(absoluteFolder))
    findings.add({
      field: 'notebook folder',
      value: absoluteFolder,
      rule: 'contains a space: Skaha splits a session command on spaces, so run.sh could not be found',
      hint: 'move the notebook to a folder whose path has no spaces',
    });
  // CANFAR's replicas mount /arc (home and projects) and nothing else of the submitting machine.
  if (endpoint && /canfar\.net/.test(endpoint) && !/^\/arc\//.test(absoluteFolder))
    findings.warn(
      `the batch folder ${absoluteFolder} is not under /arc: CANFAR replicas will not find run.sh there (submit from a notebook stored under /arc)`,
    );
  if (!existing && (await store.exists(folder)))
    findings.add({
      field: 'batch folder',
      value: folder,
      rule: 'exists already: nothing is overwritten',
      hint: 'submit again (a new batch id is drawn)',
    });
  return { folder, absoluteFolder };
}

/** `sh <folder>/run.sh`: the command every replica runs (no space in the path: checked by pathsRule). */
export function commandOf(absoluteFolder: string): Pick<SessionSpec, 'cmd' | 'args'> {
  return { cmd: 'sh', args: [joinPath(absoluteFolder, 'run.sh')] };
}

const PLACEHOLDER = /\{([^}]*)\}/g;

/**
 * Expected outputs: non-empty path patterns without white space or quotes (run.sh expands them with the
 * shell's globbing), placeholders among {replica}, {set}, {shard}.
 */
export function expectRule(patterns: string[] | undefined, findings: Findings): string[] {
  const result: string[] = [];
  for (const pattern of patterns ?? []) {
    const unknown = [...pattern.matchAll(PLACEHOLDER)]
      .map((m) => m[1])
      .filter((p) => !['replica', 'set', 'shard'].includes(p));
    if (pattern.trim() === '') findings.add({ field: 'expect', value: pattern, rule: 'is empty' });
    else if (/[\s'"`$\\;&|<>()]/.test(pattern))
      findings.add({
        field: 'expect',
        value: pattern,
        rule: 'may not contain white space, quotes or shell characters ($ ` \\ ; & | < > ( ))',
      });
    else if (unknown.length > 0)
      findings.add({
        field: 'expect',
        value: pattern,
        rule: `unknown placeholder {${unknown[0]}}: use {replica}, {set} or {shard}`,
      });
    else result.push(pattern);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------
// each replica's own env

/**
 * The replicas to launch: name, set, shard, and their own env (identity.ts's variables, and the set's
 * parameters that differ from the notebook's defaults, encoded with encodeParamEnv).
 */
export function plannedReplicas(
  name: string,
  shape: BatchShape,
  ids: number[],
  sweep: SweepRecord | undefined,
  declared: NotebookParameter[],
): PlannedReplica[] {
  const defaults = new Map(declared.map((p) => [p.name, p]));
  return ids.map((replica) => {
    const { set, shard } = identityOf(replica, shape);
    const env = identityEnv(replica, shape);
    for (const [param, text] of Object.entries(sweep?.sets[set - 1] ?? {})) {
      const parameter = defaults.get(param);
      // The recorded text is what the replica receives; unchanged from the default, nothing is sent.
      if (parameter && textEqualsDefault(parameter, text)) continue;
      env[`CANFAR_PARAM_${param}`] = encodeParamEnv(text);
    }
    return { replica, name: sessionNameOf(name, replica, shape), set, shard, env };
  });
}

/** Is the text a replica would receive the notebook's default value? */
function textEqualsDefault(parameter: NotebookParameter, text: string): boolean {
  const check = checkParamValue(parameter, parameter.type === 'str' ? JSON.stringify(text) : text);
  return check.ok && check.key === defaultKey(parameter);
}
