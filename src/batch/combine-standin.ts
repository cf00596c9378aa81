/**
 * STAND-IN for the converter's combine split (the round's memo, "Converter output for combine"; owner:
 * `convert`). Until `ConversionResult.combine` is on main, the batch derives it with two calls of
 * `convertNotebook` on copies of the notebook with `skip-batch` added to the cells to leave out (the
 * converter leaves a marker line, and cell numbers stay the notebook's): the replicas' script without the
 * cells tagged `combine`, and the combine script with only the cells tagged imports, functions,
 * parameters, injected-parameters and combine. When the
 * converter returns `combine` itself, that is used and this file is not involved.
 */
import { convertNotebook } from '../convert';
import type { ConversionResult, ConvertOptions } from '../convert';

export interface CombineScript {
  script: string;
  /** 0-based indices of the cells tagged `combine`. */
  cells: number[];
}

export type ConversionWithCombine = ConversionResult & { combine?: CombineScript };

/** Cells the combine script keeps besides the `combine` cells themselves. */
const COMBINE_KEEPS = ['imports', 'functions', 'parameters', 'injected-parameters', 'combine'];

const COMBINE_LANGUAGES = ['python', 'javascript', 'typescript'];

interface RawCell {
  cell_type?: string;
  source?: string | string[];
  metadata?: { tags?: unknown };
}

function tagsOf(cell: RawCell): string[] {
  const tags = cell.metadata?.tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
}

function skipped(cell: RawCell): RawCell {
  return { ...cell, metadata: { ...cell.metadata, tags: [...tagsOf(cell), 'skip-batch'] } };
}

/** The conversion of `notebook`, with the combine script split off when cells are tagged `combine`. */
export function convertWithCombine(notebook: unknown, options: ConvertOptions): ConversionWithCombine {
  const result = convertNotebook(notebook, options) as ConversionWithCombine;
  if (result.combine) return result;
  const nb = notebook as { nbformat?: number; cells?: RawCell[] } | null;
  if (!nb || nb.nbformat !== 4 || !Array.isArray(nb.cells)) return result;
  const cells = nb.cells.flatMap((cell, index) =>
    cell?.cell_type === 'code' && tagsOf(cell).includes('combine') ? [index] : [],
  );
  if (cells.length === 0) return result;
  if (!COMBINE_LANGUAGES.includes(result.language)) {
    return {
      ...result,
      ok: false,
      diagnostics: [
        ...result.diagnostics,
        {
          severity: 'error',
          cell: cells[0],
          kind: 'combine-language',
          message: `cells tagged "combine" (${cells.map((c) => `cell ${c + 1}`).join(', ')}) are supported in Python, JavaScript and TypeScript notebooks only, not ${result.language}: remove the tag`,
        },
      ],
    };
  }
  const main = convertNotebook(
    {
      ...nb,
      cells: nb.cells.map((cell, index) => (cells.includes(index) ? skipped(cell) : cell)),
    },
    options,
  );
  const combine = convertNotebook(
    {
      ...nb,
      cells: nb.cells.map((cell) => {
        if (cell?.cell_type !== 'code') return cell;
        const tags = tagsOf(cell);
        if (!tags.some((tag) => COMBINE_KEEPS.includes(tag))) return skipped(cell);
        return { ...cell, metadata: { ...cell.metadata, tags: tags.filter((tag) => tag !== 'combine') } };
      }),
    },
    options,
  );
  return {
    ...main,
    ok: main.ok && combine.ok,
    diagnostics: [
      ...main.diagnostics,
      // The combine script's own findings on the combine cells (the others were reported above).
      ...combine.diagnostics.filter((d) => cells.includes(d.cell)),
    ],
    combine: { script: combine.script, cells },
  };
}
