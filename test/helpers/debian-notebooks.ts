/**
 * The example notebooks shipped by Debian's python-nbsphinx-doc and python-notebook-doc packages: real
 * notebooks that nobody here wrote. Some are gzipped, some appear twice (html/ and html/_sources/, the latter
 * as .ipynb.txt): read each distinct one once, named by its path under /usr/share/doc.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export interface DebianNotebook {
  /** e.g. `python-nbsphinx/html/code-cells.ipynb.gz` */
  path: string;
  absolute: string;
  text: string;
  document: unknown;
}

export const DEBIAN_PACKAGES = ['python-nbsphinx-doc', 'python-notebook-doc'];

let cache: DebianNotebook[] | undefined;

export function debianNotebooks(): DebianNotebook[] {
  if (cache) return cache;
  let listing = '';
  try {
    listing = execFileSync('dpkg', ['-L', ...DEBIAN_PACKAGES], { encoding: 'utf8' });
  } catch {
    cache = [];
    return cache;
  }
  const seen = new Set<string>();
  const found: DebianNotebook[] = [];
  const files = listing
    .split('\n')
    .filter((file) => /\.ipynb(\.gz|\.txt)?$/.test(file))
    .sort(
      (a, b) => Number(a.includes('/_sources/')) - Number(b.includes('/_sources/')) || a.localeCompare(b),
    );
  for (const absolute of files) {
    const bytes = readFileSync(absolute);
    const text = (absolute.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
    // html/x.ipynb(.gz) and html/_sources/x.ipynb(.txt|.gz) are the same notebook (the former executed by
    // nbsphinx at build time): keep the first, from html/.
    const key = absolute.replace('/_sources/', '/').replace(/\.(gz|txt)$/, '');
    if (seen.has(key)) continue;
    seen.add(key);
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      continue; // a file with the extension that is not JSON is not a notebook
    }
    found.push({ path: absolute.replace('/usr/share/doc/', ''), absolute, text, document });
  }
  cache = found;
  return found;
}
