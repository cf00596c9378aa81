/**
 * Parameter sweeps: several values for some of the notebook's parameters, as axes (the cartesian product
 * of the value lists) or as an explicit list of sets. Each set runs as R shards (issue 12). This file
 * holds the text forms users write (CLI `--sweep NAME=V1,V2`, `--sweep-file` CSV or JSON, the dialog's
 * lists) and their expansion, checked value by value against the parameters' types; the plan rule that
 * uses them is `sweepRule` (rules.ts).
 */
import { MAX_REPLICAS } from '../skaha';
import { parsePythonLiteral } from './params';
import type { ParamValue } from './params';

/**
 * A sweep as a program gives it: axes `{ threshold: [0.1, 0.5], method: ['a', 'b'] }` (every
 * combination, the first parameter varying slowest), or an explicit list of sets
 * `[{ threshold: 0.1, method: 'a' }, ...]`. A string is a value as written (parsed with the
 * parameter's type, like `--param`); a number, boolean, list or object is taken as that value.
 */
export type SweepInput = Record<string, ParamValue[]> | Record<string, ParamValue>[];

/** What a batch records of its sweep (batch.json `sweep`, the lab's `BatchSummary.sweep`). */
export interface SweepRecord {
  /** The swept parameters, in the order given. */
  parameters: string[];
  /** Set k (1-based) is `sets[k-1]`: each swept parameter's value as the replica receives it (text). */
  sets: Record<string, string>[];
  /** R: shards per set. */
  shards: number;
}

/** How many sets a sweep makes, without expanding it (an axis sweep of 10^6 sets stays cheap to refuse). */
export function sweepSetCount(sweep: SweepInput): number {
  if (Array.isArray(sweep)) return sweep.length;
  return Object.values(sweep).reduce(
    (product, values) => product * (Array.isArray(values) ? values.length : 0),
    1,
  );
}

/** The parameters a sweep names, in order of first appearance. */
export function sweepParameters(sweep: SweepInput): string[] {
  if (!Array.isArray(sweep)) return Object.keys(sweep);
  const names: string[] = [];
  for (const set of sweep)
    for (const name of Object.keys(set ?? {})) if (!names.includes(name)) names.push(name);
  return names;
}

/** The sets of a sweep, in order (axes: the first parameter varies slowest). Expand only after `sweepSetCount`. */
export function expandSweep(sweep: SweepInput): Record<string, ParamValue>[] {
  if (Array.isArray(sweep)) return sweep;
  let sets: Record<string, ParamValue>[] = [{}];
  for (const [name, values] of Object.entries(sweep))
    sets = sets.flatMap((set) => values.map((value) => ({ ...set, [name]: value })));
  return sweep && Object.keys(sweep).length > 0 ? sets : [];
}

/** Why a sweep of S sets x R shards does not fit in one batch, and how to split it. */
export function tooManySessions(sets: number, shards: number): string {
  const perBatch = Math.max(1, Math.floor(MAX_REPLICAS / Math.max(1, shards)));
  const batches = Math.ceil(sets / perBatch);
  return (
    `${sets} set(s) x ${shards} shard(s) = ${sets * shards} sessions, more than the ${MAX_REPLICAS} a batch may launch: ` +
    (perBatch >= sets
      ? 'use fewer shards per set (-r)'
      : `split it into ${batches} batches of at most ${perBatch} set(s) each${shards > 1 ? ', or use fewer shards per set (-r)' : ''}`)
  );
}

/**
 * One `--sweep` option: `NAME=V1,V2,...` (values split on commas, spaces around them trimmed), or
 * `NAME=[...]`, a JSON (or Python) list, for values holding commas or exact spaces:
 * `--sweep 'method=["a,b", "c"]'`. A list parameter's values are lists: `--sweep 'bands=[[1,2],[3]]'`.
 */
export function parseSweepOption(text: string): { name: string; values: ParamValue[] } | { error: string } {
  const eq = text.indexOf('=');
  if (eq <= 0)
    return { error: `--sweep takes NAME=V1,V2,... or NAME=[JSON list], not ${JSON.stringify(text)}` };
  const name = text.slice(0, eq).trim();
  const rest = text.slice(eq + 1);
  if (rest.trim().startsWith('[')) {
    const parsed = parsePythonLiteral(rest.trim());
    if (!parsed || !Array.isArray(parsed.value))
      return {
        error: `--sweep ${name}: ${JSON.stringify(rest)} starts with "[" but is not a JSON list (write the values as ["a,b", "c"], or without brackets as a,c)`,
      };
    return { name, values: parsed.value as ParamValue[] };
  }
  if (rest.trim() === '') return { name, values: [] };
  return { name, values: rest.split(',').map((value) => value.trim()) };
}

/** A sweep file: a JSON list of objects (or an object of lists: axes), or CSV with a header row. */
export function parseSweepFile(fileName: string, text: string): { sweep: SweepInput } | { error: string } {
  const body = text.replace(/^\uFEFF/, '');
  const json = /\.json$/i.test(fileName) || (!/\.csv$/i.test(fileName) && /^\s*[[{]/.test(body));
  if (json) {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch (error) {
      return { error: `${fileName} is not valid JSON (${error instanceof Error ? error.message : error})` };
    }
    if (Array.isArray(value)) {
      const bad = value.findIndex((row) => row === null || typeof row !== 'object' || Array.isArray(row));
      if (bad >= 0) return { error: `${fileName}: item ${bad + 1} is not an object of parameter values` };
      return { sweep: value as Record<string, ParamValue>[] };
    }
    if (value && typeof value === 'object') {
      const bad = Object.entries(value).find(([, values]) => !Array.isArray(values));
      if (bad) return { error: `${fileName}: ${bad[0]} is not a list of values` };
      return { sweep: value as Record<string, ParamValue[]> };
    }
    return { error: `${fileName}: expected a JSON list of objects, one per parameter set` };
  }
  const rows = parseCsv(body);
  if ('error' in rows) return { error: `${fileName}: ${rows.error}` };
  const [header, ...data] = rows.rows.filter((row) => !(row.length === 1 && row[0].trim() === ''));
  if (!header) return { error: `${fileName} is empty: expected a header row of parameter names` };
  const names = header.map((name) => name.trim());
  const sets: Record<string, ParamValue>[] = [];
  for (const [index, row] of data.entries()) {
    if (row.length !== names.length)
      return { error: `${fileName}: row ${index + 2} has ${row.length} cell(s), the header ${names.length}` };
    // An empty cell leaves the parameter at the notebook's default for that set.
    sets.push(Object.fromEntries(names.flatMap((name, k) => (row[k] === '' ? [] : [[name, row[k]]]))));
  }
  return { sweep: sets };
}

/** RFC 4180 CSV: quoted cells may hold commas, newlines and doubled quotes. */
export function parseCsv(text: string): { rows: string[][] } | { error: string } {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
      continue;
    }
    if (c === '"' && cell === '' && !wasQuoted) {
      quoted = true;
      wasQuoted = true;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
      wasQuoted = false;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      wasQuoted = false;
    } else if (wasQuoted) {
      return { error: `line ${rows.length + 1}: text after a closing quote` };
    } else cell += c;
  }
  if (quoted) return { error: 'a quoted cell is not closed' };
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return { rows };
}

/**
 * The sets as a text table (the CLI's `--dry-run`, logs): one row per set with its sessions, the first
 * and last `edge` rows when there are many.
 */
export function sweepTable(
  sweep: SweepRecord,
  sessionNames: (set: number) => string[],
  defaults: Record<string, string> = {},
  edge = 10,
): string {
  const header = ['SET', ...sweep.parameters, 'SESSIONS'];
  const shown =
    sweep.sets.length <= edge * 2
      ? sweep.sets.map((_, k) => k + 1)
      : [
          ...Array.from({ length: edge }, (_, k) => k + 1),
          0,
          ...Array.from({ length: edge }, (_, k) => sweep.sets.length - edge + k + 1),
        ];
  const rows = shown.map((set) => {
    if (set === 0)
      return ['…', ...sweep.parameters.map(() => ''), `(${sweep.sets.length - edge * 2} more sets)`];
    const values = sweep.sets[set - 1];
    const names = sessionNames(set);
    return [
      String(set),
      ...sweep.parameters.map((p) => oneLine(values[p] ?? defaults[p] ?? '')),
      names.length > 2 ? `${names[0]} .. ${names[names.length - 1]}` : names.join(' '),
    ];
  });
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((row) => row[k].length)));
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, k) => cell.padEnd(widths[k]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A value on one line: newlines and tabs shown as \n and \t, long values cut. */
export function oneLine(text: string, max = 40): string {
  const flat = text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
