import { encodeParamEnv, pythonRuntimeFiles } from '../convert';
import type { SessionSpec } from '../skaha';
import { newBatchId, randomBase36, sha256Hex } from './ids';
import { replicaTotal } from './identity';
import {
  batchName,
  commandOf,
  conversionRule,
  envRule,
  expectRule,
  Findings,
  imageRule,
  isSecretName,
  namesRule,
  parametersRule,
  pathsRule,
  plannedReplicas,
  replicasRule,
  rerunConversion,
  resourcesRule,
  sweepRule,
} from './rules';
import type { PlannedConversion } from './rules';
import type { BatchStore } from './store';
import { MANIFEST_SCHEMA } from './types';
import type { BatchShape } from './identity';
import type { SweepRecord } from './sweep';
import type {
  BatchFile,
  BatchInput,
  BatchManifest,
  BatchPlan,
  PlannedReplica,
  PlanProblem,
  PlatformInfo,
} from './types';
import { pythonShimFiles, wrapperScript } from './wrapper';

export { isSecretName, SECRET_NAME } from './rules';

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

/**
 * Plans a batch: decides the id, names, env, files and manifest with the rules of rules.ts (conversion,
 * parameters, sweep, replicas, names, resources, image, env, paths, expected outputs), each of which
 * adds its problems, and throws `BatchPlanError` listing ALL of them. Writes and sends nothing.
 */
export async function planBatch(
  input: BatchInput,
  platform: PlatformInfo,
  store: BatchStore,
  options: PlanOptions = {},
): Promise<BatchPlan> {
  const findings = new Findings();
  const now = options.now ?? new Date();
  const rerun = input.rerun;
  const parent = rerun?.parent;
  const inPlace = rerun?.inPlace;
  const batchId = inPlace ? parent!.batchId : (options.batchId ?? newBatchId(now, randomBase36(4)));

  const conversion = rerun ? rerunConversion(rerun) : conversionRule(input, findings);
  const declared = conversion.parameters;
  const overrides = parametersRule(declared, input.params, parent?.parameters.overrides, findings);
  const sweep = parent
    ? parent.sweep
    : sweepRule(declared, input.sweep, input.params, input.replicas, findings);
  const { shape, ids } = replicasRule(input.replicas, sweep, rerun, findings);
  const name = inPlace ? parent!.name : batchName(input, batchId);
  const own = new Set(
    inPlace
      ? parent!.replicas.flatMap((r) =>
          [r.launch, ...(r.history ?? []).map((h) => h.launch)].flatMap((l) =>
            l?.state === 'launched' ? [l.sessionId] : [],
          ),
        )
      : [],
  );
  namesRule(name, shape, ids, platform, findings, own);
  const resources = resourcesRule(
    parent && !inPlace ? { ...parent.resources, ...input } : input,
    platform,
    findings,
  );
  imageRule(input.image, platform, findings);
  const env = envRule(input.env, parent?.env, findings);
  const { folder, absoluteFolder } = await pathsRule(
    input.notebookPath,
    batchId,
    store,
    input.endpoint,
    findings,
    inPlace?.folder,
  );
  const expect = parent ? (parent.expect ?? []) : expectRule(input.expect, findings);
  if (findings.problems.length > 0) throw new BatchPlanError(findings.problems);

  env.CANFAR_BATCH_ID = batchId;
  for (const [param, value] of Object.entries(overrides))
    env[`CANFAR_PARAM_${param}`] = encodeParamEnv(value);
  const spec: SessionSpec = {
    name,
    image: input.image,
    kind: 'headless',
    ...resources,
    ...commandOf(absoluteFolder),
    env,
    ...(input.registryAuth ? { registryAuth: input.registryAuth } : {}),
  };
  const replicas = plannedReplicas(name, shape, ids, sweep, declared);
  const scriptFile = `script${conversion.extension || '.txt'}`;
  const combineFile = conversion.combine ? `combine${conversion.extension || '.txt'}` : undefined;
  const manifest: BatchManifest = inPlace
    ? structuredClone(parent!)
    : await newManifest({
        input,
        batchId,
        name,
        conversion,
        scriptFile,
        combineFile,
        spec,
        shape,
        ids,
        replicas,
        resources,
        overrides,
        sweep,
        expect,
        now,
      });
  return {
    batchId,
    name,
    folder,
    absoluteFolder,
    replicaIds: ids,
    replicaCount: replicaTotal(shape),
    spec,
    shape,
    replicas,
    ...(sweep ? { sweep } : {}),
    ...(inPlace ? { inPlace: true } : {}),
    files: inPlace
      ? []
      : batchFiles(batchId, scriptFile, combineFile, conversion, expect, sweep?.parameters ?? []),
    manifest,
    conversion: {
      language: conversion.language,
      extension: conversion.extension,
      interpreter: conversion.interpreter,
      diagnostics: conversion.diagnostics,
      parameters: conversion.parameters,
      ...(conversion.needsIPython ? { needsIPython: conversion.needsIPython } : {}),
      ...(conversion.combine ? { combineCells: conversion.combine.cells } : {}),
    },
    warnings: findings.warnings,
    ...(platform.sessions && platform.sessionsListedAt
      ? { sessionListing: { sessions: platform.sessions, requestedAt: platform.sessionsListedAt } }
      : {}),
  };
}

/** batch.json of a new batch: what was decided, and one record per replica (no launch yet). */
async function newManifest(d: {
  input: BatchInput;
  batchId: string;
  name: string;
  conversion: PlannedConversion;
  scriptFile: string;
  combineFile?: string;
  spec: SessionSpec;
  shape: BatchShape;
  ids: number[];
  replicas: PlannedReplica[];
  resources: BatchManifest['resources'];
  overrides: Record<string, string>;
  sweep?: SweepRecord;
  expect: string[];
  now: Date;
}): Promise<BatchManifest> {
  const { input, conversion, spec } = d;
  const parent = input.rerun?.parent;
  const env = spec.env ?? {};
  const names = Object.keys(env).sort();
  return {
    schema: MANIFEST_SCHEMA,
    batchId: d.batchId,
    name: d.name,
    ...(parent ? { parent: { batchId: parent.batchId, replicaIds: d.ids } } : {}),
    notebook: {
      path: parent ? parent.notebook.path : input.notebookPath,
      // A re-run runs the parent's script: it records the notebook the parent was made from.
      sha256: parent ? parent.notebook.sha256 : await sha256Hex(input.notebookText),
      language: conversion.language,
    },
    script: {
      file: d.scriptFile,
      sha256: await sha256Hex(conversion.script),
      interpreter: conversion.interpreter,
      policy: input.policy ?? parent?.script.policy ?? 'translate',
      diagnostics: conversion.diagnostics,
    },
    image: input.image,
    resources: d.resources,
    replicaCount: replicaTotal(d.shape),
    replicaIds: d.ids,
    // Every env name sent; values only for names that do not look secret.
    env: { names, values: Object.fromEntries(names.filter((n) => !isSecretName(n)).map((n) => [n, env[n]])) },
    parameters: { declared: conversion.parameters, overrides: d.overrides },
    ...(d.sweep ? { sweep: d.sweep } : {}),
    ...(d.combineFile && conversion.combine
      ? { combine: { file: d.combineFile, cells: conversion.combine.cells } }
      : {}),
    ...(d.expect.length > 0 ? { expect: d.expect } : {}),
    ...(input.canary && !parent && d.ids.length > 1
      ? { canary: { replica: d.ids[0], state: 'waiting' as const } }
      : {}),
    submittedAt: d.now.toISOString(),
    ...(input.user ? { user: input.user } : {}),
    ...(input.endpoint ? { endpoint: input.endpoint } : {}),
    command: { cmd: spec.cmd ?? 'sh', args: spec.args ?? [] },
    launch: { state: 'planned' },
    replicas: d.replicas.map((r) => ({
      replica: r.replica,
      name: r.name,
      ...(d.shape.swept ? { set: r.set, shard: r.shard } : {}),
    })),
  };
}

/** The files of a new batch folder: the script, the combine script, run.sh, and Python's helpers. */
function batchFiles(
  batchId: string,
  scriptFile: string,
  combineFile: string | undefined,
  conversion: PlannedConversion,
  expect: string[],
  swept: string[],
): BatchFile[] {
  const python = conversion.language === 'python';
  return [
    { path: scriptFile, content: conversion.script },
    ...(combineFile && conversion.combine ? [{ path: combineFile, content: conversion.combine.script }] : []),
    {
      path: 'run.sh',
      content: wrapperScript({
        batchId,
        script: scriptFile,
        interpreter: conversion.interpreter,
        python,
        ...(conversion.needsIPython ? { needsIPython: conversion.needsIPython } : {}),
        ...(combineFile ? { combine: combineFile } : {}),
        expect,
        sweptParameters: swept,
      }),
      executable: true,
    },
    ...(python ? pythonShimFiles() : []),
    // The script's runtime (pylib/canfar_batch/_runtime.py), imported by its first lines.
    ...(python
      ? pythonRuntimeFiles().map((file) => ({ path: `pylib/${file.path}`, content: file.content }))
      : []),
  ];
}
