/** Pieces shared by the per-language converters. */
import type { Cell } from './notebook';
import type { ConversionDiagnostic } from './types';

/** `cell 4 id=abc`: the cell's position counted from 1 (as a person counts cells) and its id when it has one. */
export function cellLabel(cell: Cell): string {
  return cell.id ? `cell ${cell.index + 1} id=${cell.id}` : `cell ${cell.index + 1}`;
}

export function splitSourceLines(source: string): string[] {
  const lines = source.split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Markdown or raw text as line comments; blank lines become a bare comment mark so the block stays one block. */
export function commentLines(source: string, mark: string): string[] {
  return splitSourceLines(source).map((line) => (line.trim() === '' ? mark : `${mark} ${line}`));
}

/** A raw cell runs only when tagged active-py (jupytext keeps script-only code in raw cells of the notebook). */
export function isCodeCell(cell: Cell): boolean {
  return cell.type === 'code' || (cell.type === 'raw' && cell.tags.includes('active-py'));
}

const DROPPING_TAGS: Record<string, string> = {
  'skip-execution': 'tagged skip-execution',
  'remove-cell': 'tagged remove-cell',
  'skip-batch': 'tagged skip-batch',
  'active-ipynb': 'tagged active-ipynb (runs only in the notebook)',
};

/** Why a cell is left out of the script, or undefined when it is kept. */
export function dropReason(cell: Cell): string | undefined {
  for (const tag of cell.tags) if (tag in DROPPING_TAGS) return DROPPING_TAGS[tag];
  return undefined;
}

/**
 * A cell left out of the script, the same in every language: an info diagnostic saying why, and the
 * script lines that mark where it stood (`<mark> %% [cell 3] dropped: tagged skip-execution`).
 */
export function droppedCell(
  cell: Cell,
  reason: string,
  mark: string,
  diagnostics: ConversionDiagnostic[],
): string[] {
  diagnostics.push({
    severity: 'info',
    cell: cell.index,
    cellId: cell.id,
    kind: 'cell-dropped',
    message: `${cell.type} cell dropped: ${reason}`,
  });
  return ['', `${mark} %% [${cellLabel(cell)}] dropped: ${reason}`];
}
