/**
 * The batch folder through the Jupyter contents API: what src/batch writes (script, run.sh, batch.json)
 * and reads (manifests, status files, captured logs), with paths relative to the server root.
 */
import type { Contents } from '@jupyterlab/services';
import { ServerConnection } from '@jupyterlab/services';
import { BatchStoreError, joinPath } from '../batch';
import type { BatchStore } from '../batch';

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

  async exists(path: string): Promise<boolean> {
    try {
      await this.contents.get(clean(path), { content: false });
      return true;
    } catch (error) {
      if (isNotFoundResponse(error)) return false;
      throw storeError(error, path, 'check');
    }
  }

  async list(path: string): Promise<string[]> {
    try {
      const model = await this.contents.get(clean(path), { type: 'directory', content: true });
      const items = Array.isArray(model.content) ? (model.content as Contents.IModel[]) : [];
      return items.map((item) => item.name).sort();
    } catch (error) {
      if (isNotFoundResponse(error)) return [];
      throw storeError(error, path, 'list');
    }
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
      }
    }
  }

  absolutePath(path: string): string {
    return joinPath(this.serverRoot || '/', clean(path));
  }

  private async _save(path: string, content: string): Promise<void> {
    try {
      await this.contents.save(clean(path), { type: 'file', format: 'text', content });
    } catch (error) {
      throw storeError(error, path, 'write');
    }
  }
}

function clean(path: string): string {
  return joinPath(path).replace(/^\/+/, '');
}

function isNotFoundResponse(error: unknown): boolean {
  return error instanceof ServerConnection.ResponseError && error.response.status === 404;
}

function storeError(error: unknown, path: string, what: string): BatchStoreError {
  if (isNotFoundResponse(error)) return new BatchStoreError('not-found', path, `${path}: no such file`);
  const reason = error instanceof Error ? error.message : String(error);
  return new BatchStoreError(
    'io',
    path,
    `Could not ${what} ${path} through the Jupyter contents API: ${reason}`,
  );
}
