import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pythonRuntimeFiles } from '../../src/convert';

/** pylib/canfar_batch/_runtime.py in `dir`, as in a batch folder: what a converted Python script imports. */
export function writeRuntime(dir: string): void {
  for (const file of pythonRuntimeFiles()) {
    const path = join(dir, 'pylib', file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content);
  }
}

/**
 * Notebooks written inline by the batch tests and the launch benchmark: a Python 3 notebook (nbformat
 * 4.5) whose code cells hold the given sources, ids c0, c1, ... and tags when given.
 */
export function pythonNotebook(cells: readonly (string | { source: string; tags?: string[] })[]): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', language: 'python', display_name: 'Python 3' } },
    cells: cells.map((cell, i) => {
      const { source, tags } = typeof cell === 'string' ? { source: cell, tags: undefined } : cell;
      return {
        cell_type: 'code',
        id: `c${i}`,
        metadata: tags ? { tags } : {},
        source,
        outputs: [],
        execution_count: null,
      };
    }),
  });
}
