/**
 * Reading nbformat 4 and 3 documents into one small shape. The input is untrusted parsed JSON (a file a user
 * picked), so every field is checked and a malformed notebook gives a NotebookFormatError saying what is wrong.
 */

export type CellType = 'code' | 'markdown' | 'raw';

export interface Cell {
  /** 0-based position in the notebook, all cell types counted. */
  index: number;
  id?: string;
  type: CellType;
  source: string;
  tags: string[];
  /** nbformat 3 code cells carry a language; nbformat 4 raw cells may carry a mime type. */
  rawMimetype?: string;
}

export interface Notebook {
  nbformat: number;
  cells: Cell[];
  metadata: Record<string, unknown>;
}

export class NotebookFormatError extends Error {
  override name = 'NotebookFormatError';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown, where: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((part) => typeof part === 'string')) return value.join('');
  throw new NotebookFormatError(
    `${where} source must be a string or a list of strings, not ${JSON.stringify(value)}`,
  );
}

function tagsOf(metadata: unknown): string[] {
  if (!isRecord(metadata)) return [];
  const tags = metadata.tags;
  const result = Array.isArray(tags) ? tags.filter((tag): tag is string => typeof tag === 'string') : [];
  // jupytext's older spelling of the active tags: metadata {"active": "py"} or "ipynb,py".
  if (typeof metadata.active === 'string') {
    const active = metadata.active.split(',').map((name) => name.trim());
    if (active.includes('py') && !result.includes('active-py')) result.push('active-py');
    if (!active.includes('py') && active.includes('ipynb')) result.push('active-ipynb');
  }
  return result;
}

/** Parses a notebook (the JSON.parse of an .ipynb file) of nbformat 4 or 3. */
export function readNotebook(document: unknown): Notebook {
  if (!isRecord(document)) throw new NotebookFormatError('a notebook is a JSON object; this is not one');
  const nbformat = document.nbformat;
  const metadata = isRecord(document.metadata) ? document.metadata : {};
  let rawCells: unknown;
  if (nbformat === 4 || nbformat === 5) {
    rawCells = document.cells;
  } else if (nbformat === 3) {
    const worksheets = document.worksheets;
    if (!Array.isArray(worksheets)) throw new NotebookFormatError('nbformat 3 notebook without "worksheets"');
    // nbformat 3 allowed several worksheets but every tool only ever wrote one; concatenate them all.
    rawCells = worksheets.flatMap((sheet) =>
      isRecord(sheet) && Array.isArray(sheet.cells) ? sheet.cells : [],
    );
  } else {
    throw new NotebookFormatError(
      `unsupported nbformat ${JSON.stringify(nbformat)}: only nbformat 4 and 3 are read (upgrade older notebooks with \`jupyter nbconvert --to notebook\`)`,
    );
  }
  if (!Array.isArray(rawCells)) throw new NotebookFormatError('the notebook has no "cells" list');
  const cells = rawCells.map((raw, index): Cell => {
    if (!isRecord(raw)) throw new NotebookFormatError(`cell ${index + 1} is not an object`);
    const where = `cell ${index + 1}`;
    const id = typeof raw.id === 'string' && raw.id !== '' ? raw.id : undefined;
    const tags = tagsOf(raw.metadata);
    switch (raw.cell_type) {
      case 'code':
        return {
          index,
          id,
          type: 'code',
          source: text(nbformat === 3 ? raw.input : raw.source, where),
          tags,
        };
      case 'markdown':
        return { index, id, type: 'markdown', source: text(raw.source, where), tags };
      case 'heading': {
        // nbformat 3 only: a heading cell is a markdown title of the given level.
        const level = typeof raw.level === 'number' && raw.level >= 1 && raw.level <= 6 ? raw.level : 1;
        return {
          index,
          id,
          type: 'markdown',
          source: `${'#'.repeat(level)} ${text(raw.source, where)}`,
          tags,
        };
      }
      case 'raw': {
        const meta = isRecord(raw.metadata) ? raw.metadata : {};
        const mime = meta.raw_mimetype ?? meta.format;
        return {
          index,
          id,
          type: 'raw',
          source: text(raw.source, where),
          tags,
          rawMimetype: typeof mime === 'string' ? mime : undefined,
        };
      }
      default:
        throw new NotebookFormatError(`${where} has unknown cell_type ${JSON.stringify(raw.cell_type)}`);
    }
  });
  return { nbformat: nbformat as number, cells, metadata };
}
