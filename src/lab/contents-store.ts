/**
 * The batch folder through the Jupyter contents API: what src/batch writes (script, run.sh, batch.json)
 * and reads (manifests, status files, captured logs), with paths relative to the server root.
 */
import type { Contents } from '@jupyterlab/services';
import { ServerConnection } from '@jupyterlab/services';
import { basename, BatchStoreError, dirname, joinPath } from '../batch';
import type { BatchStore, BatchStoreEntry } from '../batch';

export class ContentsBatchStore implements BatchStore {
  /**
   * @param contents - the contents manager of the Jupyter server.
   * @param serverRoot - the server root as an absolute path (page config `serverRoot`), which is what
   *   the replicas see when they mount the same storage (on CANFAR: /arc/home/<user>).
   */
  constructor(
    private readonly contents: Contents.IManager,
    private readonly serverRoot: string,
  ) {}

  async readText(path: string): Promise<string> {
    try {
      const model = await this.contents.get(clean(path), { type: 'file', format: 'text', content: true });
      return typeof model.content === 'string' ? model.content : JSON.stringify(model.content);
    } catch (error) {
      throw storeError(error, path, 'read');
    }
  }

  async writeTextExclusive(path: string, content: string): Promise<void> {
    // The contents API has no exclusive create; batch ids are unique, so check-then-write is enough to
    // never overwrite an older batch's files. (`executable` is moot: run.sh is started as `sh run.sh`.)
    if (await this.exists(path)) {
      throw new BatchStoreError('exists', path, `${path} exists already: not overwritten`);
    }
    await this._save(path, content);
  }

  async writeTextAtomic(path: string, content: string): Promise<void> {
    // Jupyter's file manager writes through a temporary file and a rename (atomic writing) by default.
    await this._save(path, content);
  }

  /**
   * Existence is read from the parent's listing rather than by fetching the path: a 404 would be
   * logged as an error in the browser console at every poll. Listings are cached for a moment.
   */
  async exists(path: string): Promise<boolean> {
    const target = clean(path);
    if (target === '') return true;
    const entries = await this._children(dirname(target));
    return entries !== undefined && entries.some((entry) => entry.name === basename(target));
  }

  async list(path: string): Promise<string[]> {
    return ((await this._children(clean(path))) ?? []).map((entry) => entry.name).sort();
  }

  /**
   * The folder's listing (one request; the directory model carries each entry's `last_modified` and
   * `size`), shared for a moment with `exists` and `list` like every listing here.
   */
  async listEntries(path: string): Promise<BatchStoreEntry[]> {
    return [...((await this._children(clean(path))) ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async mkdirp(path: string): Promise<void> {
    let current = '';
    for (const segment of clean(path).split('/')) {
      if (segment === '') continue;
      current = current === '' ? segment : `${current}/${segment}`;
      if (!(await this.exists(current))) {
        try {
          await this.contents.save(current, { type: 'directory' });
        } catch (error) {
          throw storeError(error, current, 'create folder');
        }
        this._created(current, true);
      }
    }
  }

  absolutePath(path: string): string {
    return joinPath(this.serverRoot || '/', clean(path));
  }

  private async _save(path: string, content: string): Promise<void> {
    // Like a file system store, writing a file creates its folder (the contents API would answer 500).
    await this.mkdirp(dirname(clean(path)));
    let model: Contents.IModel | undefined;
    try {
      model = await this.contents.save(clean(path), { type: 'file', format: 'text', content });
    } catch (error) {
      throw storeError(error, path, 'write');
    }
    this._created(clean(path), false, model);
  }

  /** The entries of a folder, or undefined when it does not exist (checked up from the root). */
  private _children(dir: string): Promise<BatchStoreEntry[] | undefined> {
    const cached = this._listings.get(dir);
    if (cached && Date.now() - cached.at < LISTING_TTL_MS) return cached.entries;
    const entries = (async () => {
      if (dir !== '' && !(await this.exists(dir))) return undefined;
      try {
        const model = await this.contents.get(dir, { type: 'directory', content: true });
        return Array.isArray(model.content) ? (model.content as Contents.IModel[]).map(toEntry) : [];
      } catch (error) {
        if (isNotFoundResponse(error)) return undefined;
        throw storeError(error, dir, 'list');
      }
    })();
    this._listings.set(dir, { at: Date.now(), entries });
    // A failed listing is not remembered.
    entries.catch(() => this._listings.delete(dir));
    return entries;
  }

  /**
   * Records a file or folder just written in its parent's cached listing, with the modification time and
   * size the save answered (without them, the entry's version is unknown, and its readers read it again).
   */
  private _created(path: string, folder: boolean, model?: Partial<Contents.IModel>): void {
    const parent = this._listings.get(dirname(path));
    const entry: BatchStoreEntry = {
      ...(model ? toEntry(model) : {}),
      name: basename(path),
      type: folder ? 'directory' : 'file',
    };
    if (parent) {
      parent.entries = parent.entries.then((entries) =>
        entries === undefined ? entries : [...entries.filter((e) => e.name !== entry.name), entry],
      );
    }
    if (folder) this._listings.set(path, { at: Date.now(), entries: Promise.resolve([]) });
  }

  private _listings = new Map<string, { at: number; entries: Promise<BatchStoreEntry[] | undefined> }>();
}

/** A directory model's item as a listing entry (jupyter_server sends `last_modified` and `size`). */
function toEntry(item: Partial<Contents.IModel>): BatchStoreEntry {
  return {
    name: item.name ?? '',
    type: item.type === 'directory' ? 'directory' : 'file',
    ...(typeof item.last_modified === 'string' && item.last_modified !== ''
      ? { modified: item.last_modified }
      : {}),
    ...(typeof item.size === 'number' ? { size: item.size } : {}),
  };
}

/** How long a folder listing is trusted: about one poll's work, never across polls. */
const LISTING_TTL_MS = 1500;

function clean(path: string): string {
  return joinPath(path).replace(/^\/+/, '');
}

function isNotFoundResponse(error: unknown): boolean {
  return error instanceof ServerConnection.ResponseError && error.response.status === 404;
}

function storeError(error: unknown, path: string, what: string): BatchStoreError {
  if (isNotFoundResponse(error)) return new BatchStoreError('not-found', path, `${path}: no such file`);
  const reason = (error instanceof Error ? error.message : String(error)).replace(/\.?\s*$/, '.');
  return new BatchStoreError(
    'io',
    path,
    `Could not ${what} ${path} through the Jupyter contents API: ${reason}`,
  );
}
