import { batchesRoot } from './paths';
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

/** What identifies a launch: its session, or its state and time. */
function launchKey(record: ReplicaRecord | undefined): string {
  const launch = record?.launch;
  if (!launch) return '';
  return launch.state === 'launched' ? launch.sessionId : `${launch.state}@${launch.at}`;
}

/**
 * Copies the launch records (written by the submitting process: launches, a canary's fate, re-runs in
 * the same folder with their history) from `source` into `target`. A replica launched anew loses what
 * was observed of its earlier launch.
 */
function adoptLaunch(target: BatchManifest, source: BatchManifest): void {
  target.launch = source.launch;
  // A deletion recorded meanwhile (by another process or tab) is kept, never undone.
  if (source.deletedAt) target.deletedAt = source.deletedAt;
  if (source.canary) target.canary = source.canary;
  if (target.combine && source.combine?.rerun) target.combine.rerun = source.combine.rerun;
  for (const record of target.replicas) {
    const stored = source.replicas.find((r) => r.replica === record.replica);
    if (!stored) continue;
    if (launchKey(record) !== launchKey(stored)) {
      if (stored.observed) record.observed = stored.observed;
      else delete record.observed;
    }
    if (stored.launch) record.launch = stored.launch;
    if (stored.history) record.history = stored.history;
  }
}

/** Copies what a monitor observed from `source` into `target` (for the same launch only). */
function mergeObserved(target: BatchManifest, source: BatchManifest): void {
  if (target.combine && source.combine?.outcome) target.combine.outcome = source.combine.outcome;
  for (const record of target.replicas) {
    const from = source.replicas.find((r) => r.replica === record.replica);
    if (from?.observed && launchKey(from) === launchKey(record))
      record.observed = { ...record.observed, ...from.observed };
  }
}

/**
 * A writer of a batch's manifest. Updates are applied in memory at once and written with
 * `writeTextAtomic`; writes never overlap, and updates that arrive during a write are coalesced into the
 * next one, so 500 outcomes arriving together cost a few writes, not 500.
 *
 * Role 'owner' (the submitting process) writes its whole manifest. Role 'observer' (a monitor, perhaps
 * in another process or the browser, while the owner may still be launching) re-reads the stored file
 * before each write and changes only the `observed` part of it, and `refresh()` takes the owner's launch
 * records, so neither undoes the other's work.
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
    readonly role: 'owner' | 'observer' = 'owner',
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

  /** Takes the launch records of the stored manifest (what the submitting process has written so far). */
  async refresh(): Promise<void> {
    adoptLaunch(this.manifest, await readManifest(this.store, this.folder));
  }

  /** Resolves when everything updated so far is on storage; rejects if the last write failed. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.dirty) await this.schedule();
    if (this.failure) throw this.failure;
  }

  private async text(): Promise<string> {
    if (this.role === 'owner') return manifestText(this.manifest);
    let stored: BatchManifest;
    try {
      stored = await readManifest(this.store, this.folder);
    } catch (error) {
      if (isNotFound(error)) return manifestText(this.manifest);
      throw error;
    }
    adoptLaunch(this.manifest, stored);
    mergeObserved(stored, this.manifest);
    return manifestText(stored);
  }

  private schedule(): Promise<void> {
    if (!this.writing) {
      this.writing = (async () => {
        try {
          while (this.dirty) {
            this.dirty = false;
            this.failure = undefined;
            await this.store.writeTextAtomic(joinPath(this.folder, MANIFEST_FILE), await this.text());
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

/** True when the user deleted the batch: listings hide it (its folder stays). */
export function isBatchDeleted(manifest: BatchManifest): boolean {
  return typeof manifest.deletedAt === 'string';
}

/**
 * Records in the folder's batch.json that the user deleted the batch, with the atomic manifest writer
 * (a monitor writing its observations at the same time keeps the mark: it re-reads the file first).
 * Only the manifest changes: the script, logs, status files and outputs stay. A batch already marked
 * keeps its first date. Resolves with the manifest as stored.
 */
export async function markBatchDeleted(
  store: BatchStore,
  folder: string,
  at: Date = new Date(),
): Promise<BatchManifest> {
  const writer = new ManifestWriter(store, folder, await readManifest(store, folder), 'owner');
  if (isBatchDeleted(writer.current)) return writer.current;
  await writer.update((manifest) => {
    manifest.deletedAt = at.toISOString();
  });
  return writer.current;
}

/** The folders whose batch was not deleted (an unreadable manifest is kept: its reader reports why). */
export async function undeletedBatchFolders(store: BatchStore, folders: string[]): Promise<string[]> {
  const kept: string[] = [];
  for (const folder of folders) {
    const manifest = await readManifest(store, folder).catch(() => undefined);
    if (!manifest || !isBatchDeleted(manifest)) kept.push(folder);
  }
  return kept;
}

export function statusPath(folder: string, replica: number | 'combine'): string {
  return joinPath(folder, 'status', replica === 'combine' ? 'combine.json' : `replica-${replica}.json`);
}
export function logPath(folder: string, replica: number | 'combine'): string {
  return joinPath(folder, 'logs', replica === 'combine' ? 'combine.log' : `replica-${replica}.log`);
}

/** A replica's status file, or undefined when it has not started (or the file is unreadable mid-way). */
export async function readStatusFile(
  store: BatchStore,
  folder: string,
  replica: number | 'combine',
): Promise<ReplicaStatusFile | undefined> {
  try {
    const status = JSON.parse(await store.readText(statusPath(folder, replica))) as ReplicaStatusFile;
    return typeof status === 'object' && status !== null ? status : undefined;
  } catch (error) {
    if (isNotFound(error) || error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** Batch folders under `<dir>/canfar-batches` (BATCHES_FOLDER), newest first (batch ids sort by time). */
export async function listBatchFolders(store: BatchStore, dir: string): Promise<string[]> {
  const root = batchesRoot(dir);
  const names = await store.list(root);
  return names
    .filter((name) => /^\d{8}-\d{6}-[a-z0-9]{4}$/.test(name))
    .sort()
    .reverse()
    .map((name) => joinPath(root, name));
}
