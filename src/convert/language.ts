/** Which kernel a notebook was written for, from its metadata (kernelspec first, then language_info). */

export interface KernelInfo {
  /** Normalised language: python, typescript, javascript, r, julia, bash, or the lower-cased name found. */
  language: string;
  /** The kernelspec name when present (e.g. `python3`, `deno`, `tslab`, `javascript`, `ir`, `julia-1.10`). */
  kernelName?: string;
  /** True when the notebook says nothing about its kernel and Python is assumed (nbformat 3 era files). */
  assumed: boolean;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function normalise(name: string): string {
  const lower = name.trim().toLowerCase();
  if (/^python\d*(\.\d+)*$/.test(lower) || lower === 'ipython') return 'python';
  if (lower === 'ts') return 'typescript';
  if (lower === 'js' || lower === 'node' || lower === 'nodejs') return 'javascript';
  if (lower === 'sh' || lower === 'shell') return 'bash';
  return lower;
}

export function kernelInfo(notebook: unknown): KernelInfo {
  const metadata = record(record(notebook).metadata);
  const kernelspec = record(metadata.kernelspec);
  const languageInfo = record(metadata.language_info);
  const kernelName = typeof kernelspec.name === 'string' ? kernelspec.name : undefined;
  for (const candidate of [kernelspec.language, languageInfo.name, metadata.language]) {
    if (typeof candidate === 'string' && candidate.trim() !== '') {
      return { language: normalise(candidate), kernelName, assumed: false };
    }
  }
  if (kernelName !== undefined) {
    const lower = kernelName.toLowerCase();
    if (lower.startsWith('python')) return { language: 'python', kernelName, assumed: false };
    if (lower === 'deno' || lower === 'tslab') return { language: 'typescript', kernelName, assumed: false };
    if (lower === 'javascript' || lower === 'jslab')
      return { language: 'javascript', kernelName, assumed: false };
    if (lower === 'ir') return { language: 'r', kernelName, assumed: false };
    if (lower.startsWith('julia')) return { language: 'julia', kernelName, assumed: false };
  }
  // nbformat 3 recorded the language on each code cell.
  const worksheets = record(notebook).worksheets;
  if (Array.isArray(worksheets)) {
    for (const sheet of worksheets) {
      const cells = record(sheet).cells;
      if (!Array.isArray(cells)) continue;
      for (const cell of cells) {
        const language = record(cell).language;
        if (typeof language === 'string' && language !== '') {
          return { language: normalise(language), kernelName, assumed: false };
        }
      }
    }
  }
  return { language: 'python', kernelName, assumed: true };
}

/** The notebook's normalised kernel language (`python` when the notebook does not say). */
export function kernelLanguage(notebook: unknown): string {
  return kernelInfo(notebook).language;
}
