import { convertNotebook, pythonRuntimeFiles } from '../convert';
import type { ConversionResult } from '../convert';
import { MAX_REPLICAS, replicaName, validateSessionSpec } from '../skaha';
import type { SessionSpec } from '../skaha';
import { newBatchId, randomBase36, sha256Hex, slugify } from './ids';
import { batchFolder } from './paths';
import { basename, joinPath } from './store';
import type { BatchStore } from './store';
import { MANIFEST_SCHEMA } from './types';
import type { BatchFile, BatchInput, BatchManifest, BatchPlan, PlanProblem, PlatformInfo } from './types';
import { pythonShimFiles, wrapperScript } from './wrapper';

/** Env values of names like these are sent to the replicas but never written to batch.json. */
export const SECRET_NAME = /TOKEN|SECRET|PASSW|KEY|CREDENTIAL|AUTH|COOKIE|PRIVATE/i;
/** Names the batch sets itself: a user value would be silently replaced. */
const RESERVED_ENV =
  /^(REPLICA_ID|REPLICA_COUNT|CANFAR_BATCH_ID|CANFAR_OUTPUT_DIR|CANFAR_PARAM_.*|skaha_.*)$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** All the reasons a batch was refused, found before anything was written or launched. */
export class BatchPlanError extends Error {
  readonly code = 'invalid-input';
  constructor(readonly problems: PlanProblem[]) {
    super(
      `The batch was not submitted (nothing was written or launched):\n${problems
        .map(
          (p) =>
            `  - ${p.field}${p.value === undefined ? '' : ` = ${JSON.stringify(p.value)}`}: ${p.rule}${p.hint ? ` (${p.hint})` : ''}`,
        )
        .join('\n')}`,
    );
    this.name = 'BatchPlanError';
  }
}

export interface PlanOptions {
  /** Fixed clock and id, for tests. */
  now?: Date;
  batchId?: string;
}

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The protocol's own rules (validateSessionSpec, which lists every problem of a spec at once), as plan
 * problems: the rules live in src/skaha only.
 */
function specProblems(spec: SessionSpec, platform: PlatformInfo, replicas: number): PlanProblem[] {
  try {
    validateSessionSpec(spec, { context: platform.context, repositories: platform.repositories, replicas });
    return [];
  } catch (error) {
    const message = errorMessage(error);
    const hint = (error as { hint?: string }).hint;
    const lines = /^\d+ problems:\n- /.test(message)
      ? message.replace(/^\d+ problems:\n- /, '').split('\n- ')
      : [message];
    return lines.map((rule) => ({
      field: /^(\w+(?:\[\d+\])?)/.exec(rule)?.[1] ?? 'session',
      rule,
      ...(hint && lines.length === 1 ? { hint } : {}),
    }));
  }
}

/**
 * Plans a batch: decides the id, names, env, files and manifest, and checks every rule (replica count,
 * names, resources against /context, image against /repository and /image, env, parameters, paths, the
 * notebook's conversion). Throws `BatchPlanError` listing ALL problems; writes and sends nothing.
 */
export async function planBatch(
  input: BatchInput,
  platform: PlatformInfo,
  store: BatchStore,
  options: PlanOptions = {},
): Promise<BatchPlan> {
  const problems: PlanProblem[] = [];
  const warnings: string[] = [];
  const now = options.now ?? new Date();
  const batchId = options.batchId ?? newBatchId(now, randomBase36(4));
  const rerun = input.rerun;

  // Replica count and ids.
  const replicaCount = rerun ? rerun.parent.replicaCount : input.replicas;
  // The range rule itself (1..512) is validateSessionSpec's, checked with the spec below.
  let replicaIds = Array.from(
    { length: Number.isInteger(replicaCount) ? Math.max(0, Math.min(replicaCount, MAX_REPLICAS)) : 0 },
    (_, i) => i + 1,
  );
  if (rerun?.replicaIds) {
    const bad = rerun.replicaIds.filter((id) => !Number.isInteger(id) || id < 1 || id > replicaCount);
    if (bad.length > 0)
      problems.push({ field: 'replicas', value: bad, rule: `replica ids must be in 1..${replicaCount}` });
    if (rerun.replicaIds.length === 0)
      problems.push({ field: 'replicas', value: [], rule: 'nothing to re-run: no replica given' });
    replicaIds = [...new Set(rerun.replicaIds)].sort((a, b) => a - b);
  }

  // The notebook and its conversion (or the parent's script, for a re-run).
  let notebook: unknown;
  if (!rerun) {
    try {
      notebook = JSON.parse(input.notebookText);
    } catch (error) {
      problems.push({
        field: 'notebook',
        value: input.notebookPath,
        rule: `is not valid JSON: ${errorMessage(error)}`,
      });
    }
  }
  const policy = input.policy ?? rerun?.parent.script.policy ?? 'translate';
  let conversion: Pick<
    ConversionResult,
    'language' | 'extension' | 'interpreter' | 'diagnostics' | 'parameters' | 'needsIPython'
  > & {
    script: string;
  };
  if (rerun) {
    const parent = rerun.parent;
    const extension = parent.script.file.slice(parent.script.file.lastIndexOf('.'));
    conversion = {
      script: rerun.script,
      language: parent.notebook.language,
      extension,
      interpreter: parent.script.interpreter,
      diagnostics: parent.script.diagnostics,
      parameters: parent.parameters.declared,
    };
  } else if (notebook !== undefined) {
    try {
      const result = convertNotebook(notebook, {
        policy,
        unknownMagics: input.unknownMagics,
        // `cell k/N` lines in the log tell which cell a failed replica was running.
        progress: true,
        notebookPath: input.notebookPath,
      });
      conversion = result;
      for (const diagnostic of result.diagnostics) {
        const where = `cell ${diagnostic.cell + 1}${diagnostic.line ? ` line ${diagnostic.line}` : ''}`;
        if (diagnostic.severity === 'error') {
          problems.push({
            field: 'notebook',
            value: where,
            rule: diagnostic.message,
            hint: `conversion policy '${policy}'`,
          });
        } else if (diagnostic.severity === 'warning') {
          warnings.push(`${where}: ${diagnostic.message}`);
        }
      }
      if (result.needsIPython) warnings.push(result.needsIPython.message);
      if (!result.ok && !result.diagnostics.some((d) => d.severity === 'error')) {
        problems.push({
          field: 'notebook',
          value: input.notebookPath,
          rule: 'could not be converted to a script',
        });
      }
    } catch (error) {
      problems.push({
        field: 'notebook',
        value: input.notebookPath,
        rule: `could not be converted: ${errorMessage(error)}`,
      });
      conversion = emptyConversion();
    }
  } else {
    conversion = emptyConversion();
  }

  // Parameters: only names the notebook's `parameters` cell declares.
  const declared = conversion.parameters;
  const overrides: Record<string, string> = {
    ...(rerun?.parent.parameters.overrides ?? {}),
    ...(input.params ?? {}),
  };
  for (const [name, value] of Object.entries(input.params ?? {})) {
    const parameter = declared.find((p) => p.name === name);
    if (!parameter) {
      problems.push({
        field: `param ${name}`,
        value,
        rule: declared.length
          ? `is not a parameter of the notebook (its parameters cell declares: ${declared.map((p) => p.name).join(', ')})`
          : 'the notebook has no cell tagged "parameters"',
        hint: 'tag the cell that assigns the defaults with "parameters"',
      });
      continue;
    }
    const typeRule = parameterTypeProblem(parameter.type, value);
    if (typeRule) problems.push({ field: `param ${name}`, value, rule: typeRule });
  }

  // User environment.
  const env: Record<string, string> = {};
  const parentEnv = rerun?.parent.env;
  for (const name of parentEnv?.names ?? []) {
    if (RESERVED_ENV.test(name)) continue;
    const value = input.env?.[name] ?? parentEnv?.values[name];
    if (value === undefined) {
      problems.push({
        field: `env ${name}`,
        rule: 'its value was not stored (secret-looking name), so it cannot be re-used',
        hint: `give it again with -e ${name}=VALUE`,
      });
    } else env[name] = value;
  }
  for (const [name, value] of Object.entries(input.env ?? {})) {
    if (!ENV_NAME.test(name)) {
      problems.push({
        field: 'env',
        value: name,
        rule: 'an environment variable name is letters, digits and _ and does not start with a digit',
      });
    } else if (RESERVED_ENV.test(name)) {
      problems.push({
        field: 'env',
        value: name,
        rule: 'is set by the batch itself',
        hint: name.startsWith('CANFAR_PARAM_')
          ? `use --param ${name.slice('CANFAR_PARAM_'.length)}=VALUE`
          : 'choose another name',
      });
    } else env[name] = value;
  }
  env.CANFAR_BATCH_ID = batchId;
  for (const [name, value] of Object.entries(overrides)) env[`CANFAR_PARAM_${name}`] = value;

  // Name, folder and paths.
  const name = (
    input.name ?? `${slugify(basename(input.notebookPath).replace(/\.ipynb$/i, ''), 40)}-${batchId.slice(-4)}`
  ).toLowerCase();
  const folder = batchFolder(input.notebookPath, batchId);
  const absoluteFolder = store.absolutePath(folder);
  if (/\s/.test(absoluteFolder)) {
    problems.push({
      field: 'notebook folder',
      value: absoluteFolder,
      rule: 'contains a space: Skaha splits a session command on spaces, so run.sh could not be found',
      hint: 'move the notebook to a folder whose path has no spaces',
    });
  }
  // CANFAR's replicas mount /arc (home and projects) and nothing else of the submitting machine.
  if (input.endpoint && /canfar\.net/.test(input.endpoint) && !/^\/arc\//.test(absoluteFolder)) {
    warnings.push(
      `the batch folder ${absoluteFolder} is not under /arc: CANFAR replicas will not find run.sh there (submit from a notebook stored under /arc)`,
    );
  }
  if (await store.exists(folder)) {
    problems.push({
      field: 'batch folder',
      value: folder,
      rule: 'exists already: nothing is overwritten',
      hint: 'submit again (a new batch id is drawn)',
    });
  }
  const scriptFile = `script${conversion.extension || '.txt'}`;
  const spec: SessionSpec = {
    name,
    image: input.image,
    kind: 'headless',
    ...(input.cores !== undefined ? { cores: input.cores } : {}),
    ...(input.ram !== undefined ? { ram: input.ram } : {}),
    ...(input.gpus !== undefined ? { gpus: input.gpus } : {}),
    cmd: 'sh',
    args: [joinPath(absoluteFolder, 'run.sh')],
    env,
    ...(input.registryAuth ? { registryAuth: input.registryAuth } : {}),
  };
  problems.push(...specProblems(spec, platform, replicaCount));

  // /image: a listed image must be usable headless; an unlisted one may still be pulled.
  const listed = platform.images?.find((image) => image.id === input.image);
  if (listed && !listed.types.includes('headless')) {
    problems.push({
      field: 'image',
      value: input.image,
      rule: `is listed for ${listed.types.join(', ')} sessions, not headless`,
    });
  } else if (platform.images && !listed && input.image) {
    warnings.push(
      `image ${input.image} is not in the platform's list of headless images: it must be pullable (public, or give registry credentials)`,
    );
  }

  // A session name in use would be taken for one of ours by reconciliation and by the monitor.
  const taken = new Map((platform.sessions ?? []).map((session) => [session.name.toLowerCase(), session]));
  const clashes = replicaIds
    .map((id) => replicaName(name, id, replicaCount))
    .filter((replica) => taken.has(replica));
  if (clashes.length > 0) {
    const first = taken.get(clashes[0]);
    problems.push({
      field: 'name',
      value: name,
      rule: `${clashes.length} replica name(s) are used by existing sessions (${clashes.slice(0, 3).join(', ')}${clashes.length > 3 ? ', ...' : ''}; ${clashes[0]} is session ${first?.id}, ${first?.status})`,
      hint: 'choose another --name, or delete those sessions',
    });
  }

  if (problems.length > 0) throw new BatchPlanError(problems);

  const python = conversion.language === 'python';
  const files: BatchFile[] = [
    { path: scriptFile, content: conversion.script },
    {
      path: 'run.sh',
      content: wrapperScript({
        batchId,
        script: scriptFile,
        interpreter: conversion.interpreter,
        python,
        needsIPython: conversion.needsIPython,
      }),
      executable: true,
    },
    ...(python ? pythonShimFiles() : []),
    // The script's runtime (pylib/canfar_batch/_runtime.py), imported by its first lines.
    ...(python
      ? pythonRuntimeFiles().map((file) => ({ path: `pylib/${file.path}`, content: file.content }))
      : []),
  ];
  const envNames = Object.keys(env).sort();
  const manifest: BatchManifest = {
    schema: MANIFEST_SCHEMA,
    batchId,
    name,
    ...(rerun ? { parent: { batchId: rerun.parent.batchId, replicaIds } } : {}),
    notebook: {
      path: rerun ? rerun.parent.notebook.path : input.notebookPath,
      // A re-run runs the parent's script: it records the notebook the parent was made from.
      sha256: rerun ? rerun.parent.notebook.sha256 : await sha256Hex(input.notebookText),
      language: conversion.language,
    },
    script: {
      file: scriptFile,
      sha256: await sha256Hex(conversion.script),
      interpreter: conversion.interpreter,
      policy,
      diagnostics: conversion.diagnostics,
    },
    image: input.image,
    resources: {
      ...(input.cores !== undefined ? { cores: input.cores } : {}),
      ...(input.ram !== undefined ? { ram: input.ram } : {}),
      ...(input.gpus !== undefined ? { gpus: input.gpus } : {}),
    },
    replicaCount,
    replicaIds,
    env: {
      names: envNames,
      values: Object.fromEntries(envNames.filter((n) => !isSecretName(n)).map((n) => [n, env[n]])),
    },
    parameters: { declared, overrides },
    submittedAt: now.toISOString(),
    ...(input.user ? { user: input.user } : {}),
    ...(input.endpoint ? { endpoint: input.endpoint } : {}),
    command: { cmd: spec.cmd ?? 'sh', args: spec.args ?? [] },
    launch: { state: 'planned' },
    replicas: replicaIds.map((replica) => ({ replica, name: replicaName(name, replica, replicaCount) })),
  };
  return {
    batchId,
    name,
    folder,
    absoluteFolder,
    replicaIds,
    replicaCount,
    spec,
    files,
    manifest,
    conversion: {
      language: conversion.language,
      extension: conversion.extension,
      interpreter: conversion.interpreter,
      diagnostics: conversion.diagnostics,
      parameters: conversion.parameters,
      ...(conversion.needsIPython ? { needsIPython: conversion.needsIPython } : {}),
    },
    warnings,
    ...(platform.sessions && platform.sessionsListedAt
      ? { sessionListing: { sessions: platform.sessions, requestedAt: platform.sessionsListedAt } }
      : {}),
  };
}

function emptyConversion() {
  return {
    script: '',
    language: 'unknown',
    extension: '.txt',
    interpreter: { command: 'false', args: [] as string[] },
    diagnostics: [],
    parameters: [],
  };
}

/** A value that cannot be what the parameter's default is (the script would fail at start-up). */
function parameterTypeProblem(type: string, value: string): string | undefined {
  // The forms the script's prelude accepts (Python int(), float(), and its true/false words).
  const text = value.trim();
  if (type === 'int' && !/^[+-]?\d(_?\d)*$/.test(text))
    return 'must be a whole number (the default in the notebook is an int)';
  if (type === 'float' && !/^[+-]?((\d(_?\d)*)?\.?\d(_?\d)*([eE][+-]?\d+)?|inf(inity)?|nan)$/i.test(text)) {
    return 'must be a number (the default in the notebook is a float)';
  }
  if (type === 'bool' && !/^(true|false|1|0|yes|no|on|off)$/i.test(text))
    return 'must be true or false (the default in the notebook is a bool)';
  return undefined;
}
