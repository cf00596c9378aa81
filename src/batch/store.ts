/**
 * Where batch folders live. The CLI writes them with the file system (src/node/batch-store.ts), the
 * JupyterLab extension through the Jupyter contents API; the batch logic only sees this interface.
 * Every path is relative to the store's root and `/`-separated.
 */
export interface BatchStore {
  /** The text of a file; rejects with `BatchStoreError` code 'not-found' when it does not exist. */
  readText(path: string): Promise<string>;
  /** Creates a file that must not exist yet (code 'exists' otherwise): nothing is ever overwritten. */
  writeTextExclusive(path: string, content: string, options?: { executable?: boolean }): Promise<void>;
  /** Replaces a file in one step (write a temporary file, then rename), for the manifest's updates. */
  writeTextAtomic(path: string, content: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** Names (not paths) of the entries of a folder; `[]` when the folder does not exist. */
  list(path: string): Promise<string[]>;
  /**
   * The entries of a folder with their modification time and size, in one request (`[]` when the folder
   * does not exist). Optional: with it, a monitor reads a status file only when its entry changed; without
   * it, it reads every unfinished replica's status file at every poll. Files that the batch replaces
   * change through an atomic rename, so a new content shows as a new modification time, size or inode.
   * (File systems stamp times with a coarse clock, a few milliseconds: two replacements of equal size
   * within one tick look alike where the store cannot say the inode; run.sh's successive status files
   * differ in size or are seconds apart.)
   */
  listEntries?(path: string): Promise<BatchStoreEntry[]>;
  /** Creates a folder and its parents (no error when it exists). */
  mkdirp(path: string): Promise<void>;
  /** The absolute path of `path` as a replica sees it (on CANFAR: under /arc). */
  absolutePath(path: string): string;
}

/** A folder entry, as `listEntries` gives it. */
export interface BatchStoreEntry {
  name: string;
  type: 'file' | 'directory';
  /** When its content last changed, as the store says it: compared for equality only, never parsed. */
  modified?: string;
  /** Its size in bytes (files), when the store says it. */
  size?: number;
  /** Its inode number, when the store knows it: a file replaced through a rename gets a new one. */
  inode?: string;
}

/**
 * What tells one content of an entry from the next (its modification time, size and inode), or
 * undefined when the store says neither time nor size: such an entry is read every time.
 */
export function entryVersion(entry: BatchStoreEntry): string | undefined {
  if (entry.modified === undefined && entry.size === undefined) return undefined;
  return `${entry.modified ?? ''}|${entry.size ?? ''}|${entry.inode ?? ''}`;
}

export class BatchStoreError extends Error {
  constructor(
    readonly code: 'not-found' | 'exists' | 'io',
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'BatchStoreError';
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof BatchStoreError
    ? error.code === 'not-found'
    : (error as { code?: string } | null)?.code === 'not-found';
}

/** `/`-joins path parts, dropping empty ones and `.`. */
export function joinPath(...parts: string[]): string {
  const segments: string[] = [];
  for (const part of parts) {
    for (const segment of part.split('/')) {
      if (segment === '' || segment === '.') continue;
      if (segment === '..' && segments.length > 0 && segments[segments.length - 1] !== '..') segments.pop();
      else segments.push(segment);
    }
  }
  const joined = segments.join('/');
  return parts[0]?.startsWith('/') ? `/${joined}` : joined;
}

export function dirname(path: string): string {
  const index = path.lastIndexOf('/');
  if (index < 0) return '';
  return index === 0 ? '/' : path.slice(0, index);
}

export function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** In-memory store, for tests and for planning without a file system. */
export class MemoryBatchStore implements BatchStore {
  /** Each file's text; setting one (through the store or straight into the map) gives it a new version. */
  readonly files: Map<string, string> = new VersionedFiles();
  readonly folders = new Set<string>(['']);
  constructor(private readonly root = '/memory') {}

  async readText(path: string): Promise<string> {
    const text = this.files.get(joinPath(path));
    if (text === undefined) throw new BatchStoreError('not-found', path, `${path}: no such file`);
    return text;
  }
  async writeTextExclusive(path: string, content: string): Promise<void> {
    const key = joinPath(path);
    if (this.files.has(key))
      throw new BatchStoreError('exists', path, `${path} exists already: not overwritten`);
    await this.mkdirp(dirname(key));
    this.files.set(key, content);
  }
  async writeTextAtomic(path: string, content: string): Promise<void> {
    const key = joinPath(path);
    await this.mkdirp(dirname(key));
    this.files.set(key, content);
  }
  async exists(path: string): Promise<boolean> {
    const key = joinPath(path);
    return this.files.has(key) || this.folders.has(key);
  }
  async list(path: string): Promise<string[]> {
    const prefix = joinPath(path);
    const names = new Set<string>();
    for (const key of [...this.files.keys(), ...this.folders]) {
      if (prefix !== '' && !key.startsWith(`${prefix}/`)) continue;
      const rest = prefix === '' ? key : key.slice(prefix.length + 1);
      if (rest !== '') names.add(rest.split('/')[0]);
    }
    return [...names].sort();
  }
  async listEntries(path: string): Promise<BatchStoreEntry[]> {
    const prefix = joinPath(path);
    return (await this.list(path)).map((name) => {
      const key = prefix === '' ? name : `${prefix}/${name}`;
      const text = this.files.get(key);
      if (text === undefined) return { name, type: 'directory' as const };
      const modified = String((this.files as VersionedFiles).version(key));
      return { name, type: 'file' as const, modified, size: text.length };
    });
  }
  async mkdirp(path: string): Promise<void> {
    let current = '';
    for (const segment of joinPath(path).split('/')) {
      if (segment === '') continue;
      current = current === '' ? segment : `${current}/${segment}`;
      this.folders.add(current);
    }
  }
  absolutePath(path: string): string {
    return joinPath(this.root, path);
  }
}

/** A map of file texts that numbers every write (a counter in place of a modification time). */
class VersionedFiles extends Map<string, string> {
  private clock = 0;
  private versions?: Map<string, number>;
  override set(key: string, value: string): this {
    // Map's constructor may call set before the fields are initialised.
    (this.versions ??= new Map()).set(key, ++this.clock);
    return super.set(key, value);
  }
  override delete(key: string): boolean {
    this.versions?.delete(key);
    return super.delete(key);
  }
  version(key: string): number {
    return this.versions?.get(key) ?? 0;
  }
}
