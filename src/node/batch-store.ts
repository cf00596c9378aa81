import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { BatchStoreError } from '../batch';
import type { BatchStore, BatchStoreEntry } from '../batch';

const code = (error: unknown) => (error as NodeJS.ErrnoException | null)?.code;

/**
 * Batch folders on the local file system (the CLI; inside a CANFAR session, /arc is shared with every
 * replica). Paths are relative to `root` (default: the current directory).
 */
export class NodeBatchStore implements BatchStore {
  readonly root: string;

  constructor(root: string = process.cwd()) {
    this.root = path.resolve(root);
  }

  private resolve(relative: string): string {
    const full = path.resolve(this.root, ...relative.split('/').filter(Boolean));
    return full;
  }

  private wrap(error: unknown, relative: string): never {
    if (code(error) === 'ENOENT')
      throw new BatchStoreError('not-found', relative, `${relative}: no such file`);
    if (code(error) === 'EEXIST')
      throw new BatchStoreError('exists', relative, `${relative} exists already: not overwritten`);
    throw new BatchStoreError('io', relative, `${relative}: ${(error as Error).message}`);
  }

  async readText(relative: string): Promise<string> {
    try {
      return await fs.readFile(this.resolve(relative), 'utf8');
    } catch (error) {
      this.wrap(error, relative);
    }
  }

  async writeTextExclusive(
    relative: string,
    content: string,
    options: { executable?: boolean } = {},
  ): Promise<void> {
    const full = this.resolve(relative);
    try {
      await fs.mkdir(path.dirname(full), { recursive: true });
      // O_EXCL: fails if the file exists, even if another process creates it at the same moment.
      await fs.writeFile(full, content, {
        flag: constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY,
        mode: options.executable ? 0o755 : 0o644,
      });
    } catch (error) {
      this.wrap(error, relative);
    }
  }

  async writeTextAtomic(relative: string, content: string): Promise<void> {
    const full = this.resolve(relative);
    const temporary = `${full}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await fs.mkdir(path.dirname(full), { recursive: true });
      await fs.writeFile(temporary, content);
      await fs.rename(temporary, full);
    } catch (error) {
      await fs.rm(temporary, { force: true });
      this.wrap(error, relative);
    }
  }

  async exists(relative: string): Promise<boolean> {
    try {
      await fs.access(this.resolve(relative));
      return true;
    } catch {
      return false;
    }
  }

  async list(relative: string): Promise<string[]> {
    try {
      return (await fs.readdir(this.resolve(relative))).sort();
    } catch (error) {
      if (code(error) === 'ENOENT' || code(error) === 'ENOTDIR') return [];
      this.wrap(error, relative);
    }
  }

  /** readdir, then one stat per entry (a few at a time): modification time in nanoseconds, size, inode. */
  async listEntries(relative: string): Promise<BatchStoreEntry[]> {
    const folder = this.resolve(relative);
    let names: string[];
    try {
      names = (await fs.readdir(folder)).sort();
    } catch (error) {
      if (code(error) === 'ENOENT' || code(error) === 'ENOTDIR') return [];
      this.wrap(error, relative);
    }
    const entries: (BatchStoreEntry | undefined)[] = new Array(names.length);
    let next = 0;
    const worker = async () => {
      while (next < names.length) {
        const index = next++;
        try {
          const stat = await fs.stat(path.join(folder, names[index]), { bigint: true });
          entries[index] = {
            name: names[index],
            type: stat.isDirectory() ? 'directory' : 'file',
            modified: stat.mtimeNs.toString(),
            size: Number(stat.size),
            inode: stat.ino.toString(),
          };
        } catch (error) {
          // Gone since readdir (a temporary file renamed into place): not an entry any more.
          if (code(error) !== 'ENOENT') this.wrap(error, `${relative}/${names[index]}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, names.length) }, worker));
    return entries.filter((entry): entry is BatchStoreEntry => entry !== undefined);
  }

  async mkdirp(relative: string): Promise<void> {
    try {
      await fs.mkdir(this.resolve(relative), { recursive: true });
    } catch (error) {
      this.wrap(error, relative);
    }
  }

  absolutePath(relative: string): string {
    return this.resolve(relative);
  }
}
