import type { BatchStore } from './store';
import { isNotFound, joinPath } from './store';
import { MANIFEST_SCHEMA } from './types';
import type { BatchManifest, ReplicaRecord, ReplicaStatusFile } from './types';

export const MANIFEST_FILE = 'batch.json';

export function manifestText(manifest: BatchManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

export function parseManifest(text: string, path = MANIFEST_FILE): BatchManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not valid JSON (${error instanceof Error ? error.message : error})`);
  }
  const manifest = value as Partial<BatchManifest> | null;
  if (!manifest || manifest.schema !== MANIFEST_SCHEMA || !Array.isArray(manifest.replicas)) {
    throw new Error(
      `${path} is not a batch manifest of this version (expected "schema": "${MANIFEST_SCHEMA}")`,
    );
  }
  return manifest as BatchManifest;
}

export async function readManifest(store: BatchStore, folder: string): Promise<BatchManifest> {
  const path = joinPath(folder, MANIFEST_FILE);
  return parseManifest(await store.readText(path), path);
}

export function replicaRecord(manifest: BatchManifest, replica: number): ReplicaRecord | undefined {
  return manifest.replicas.find((record) => record.replica === replica);
}

/**
 * The one writer of a batch's manifest in this process. Updates are applied in memory at once and
 * written with `writeTextAtomic`; writes never overlap, and updates that arrive during a write are
 * coalesced into the next one, so 500 outcomes arriving together cost a few writes, not 500.
 */
export class ManifestWriter {
  private manifest: BatchManifest;
  private writing: Promise<void> | undefined;
  private dirty = false;
  private failure: unknown;

  constructor(
    private readonly store: BatchStore,
    readonly folder: string,
    manifest: BatchManifest,
  ) {
    this.manifest = structuredClone(manifest);
  }

  get current(): BatchManifest {
    return this.manifest;
  }

  /** Applies `mutate` now and schedules a write; the promise settles once a write including it is done. */
  update(mutate: (manifest: BatchManifest) => void): Promise<void> {
    mutate(this.manifest);
    this.dirty = true;
    return this.schedule();
  }

  /** Resolves when everything updated so far is on storage; rejects if a write failed. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.dirty) await this.schedule();
    if (this.failure) throw this.failure;
  }

  private schedule(): Promise<void> {
    if (!this.writing) {
      this.writing = (async () => {
        try {
          while (this.dirty) {
            this.dirty = false;
            await this.store.writeTextAtomic(
              joinPath(this.folder, MANIFEST_FILE),
              manifestText(this.manifest),
            );
          }
        } catch (error) {
          this.failure = error;
        } finally {
          this.writing = undefined;
        }
      })();
    }
    const writing = this.writing;
    return writing.then(() => {
      if (this.failure) throw this.failure;
    });
  }
}

export function statusPath(folder: string, replica: number): string {
  return joinPath(folder, 'status', `replica-${replica}.json`);
}
export function logPath(folder: string, replica: number): string {
  return joinPath(folder, 'logs', `replica-${replica}.log`);
}

/** A replica's status file, or undefined when it has not started (or the file is unreadable mid-way). */
export async function readStatusFile(
  store: BatchStore,
  folder: string,
  replica: number,
): Promise<ReplicaStatusFile | undefined> {
  try {
    const status = JSON.parse(await store.readText(statusPath(folder, replica))) as ReplicaStatusFile;
    return typeof status === 'object' && status !== null ? status : undefined;
  } catch (error) {
    if (isNotFound(error) || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** Batch folders under `<dir>/.canfar/batches`, newest first (batch ids sort by time). */
export async function listBatchFolders(store: BatchStore, dir: string): Promise<string[]> {
  const root = joinPath(dir, '.canfar', 'batches');
  const names = await store.list(root);
  return names
    .filter((name) => /^\d{8}-\d{6}-[a-z0-9]{4}$/.test(name))
    .sort()
    .reverse()
    .map((name) => joinPath(root, name));
}
