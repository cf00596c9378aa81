/**
 * The words the views show for statuses, states, times and failures, translated. No DOM and no React:
 * the panel, the Running panel section, the notifications and notebook outputs share them.
 */
import { nullTranslator } from '@jupyterlab/translation';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { BatchEta, FailureGroup } from '../../batch';
import { formatDuration, replicaKind } from '../grouping';
import type { KindCounts, ReplicaKind } from '../grouping';
import type { BatchGroup, BatchResources, ReplicaRow, ReplicaStatus } from '../tokens';
import { TRANSLATION_DOMAIN } from '../tokens';

/** The translation bundle of this extension when the caller has none (tests, notebook outputs). */
export function defaultTrans(): TranslationBundle {
  return nullTranslator.load(TRANSLATION_DOMAIN);
}

export function statusLabel(trans: TranslationBundle, status: ReplicaStatus): string {
  switch (status) {
    case 'Pending':
      return trans.__('Pending');
    case 'Running':
      return trans.__('Running');
    case 'Completed':
      return trans.__('Completed');
    case 'Failed':
      return trans.__('Failed');
    case 'Terminating':
      return trans.__('Terminating');
    case 'Error':
      return trans.__('Error');
    case 'Gone':
      return trans.__('Gone');
    case 'Cancelled':
      return trans.__('Not launched');
    default:
      return trans.__('Unknown');
  }
}

/** What a replica is doing, in the monitor's finer terms when known ("Requeued after attempt 1"). */
export function replicaLabel(trans: TranslationBundle, row: ReplicaRow): string {
  const attempt = row.attempt ?? 1;
  let label: string;
  switch (row.state) {
    case 'launching':
      label = trans.__('Launching');
      break;
    case 'launch-failed':
      label = trans.__('Launch failed');
      break;
    case 'cancelled':
      label = trans.__('Not launched');
      break;
    case 'queued':
      label = trans.__('Queued');
      break;
    case 'requeued':
      // The attempt it stopped in; the next one starts from the beginning.
      label = trans.__('Requeued after attempt %1', attempt);
      break;
    case 'pending':
      label = trans.__('Starting');
      break;
    case 'pull-error':
      label = trans.__('Image pull error');
      break;
    case 'running':
      label = attempt > 1 ? trans.__('Running (attempt %1)', attempt) : trans.__('Running');
      break;
    case 'completed':
      label = trans.__('Completed');
      break;
    case 'output-missing':
      label = trans.__('Output missing');
      break;
    case 'failed':
      label = trans.__('Failed');
      break;
    case 'lost':
      label = trans.__('Lost');
      break;
    default:
      // Terminating says more than the monitor's "running" while a deletion is under way.
      label = statusLabel(trans, row.status);
  }
  if (row.status === 'Terminating' && row.state !== undefined) label = statusLabel(trans, 'Terminating');
  return row.cleanedUp ? trans.__('%1 (cleaned up)', label) : label;
}

export function kindLabel(trans: TranslationBundle, kind: ReplicaKind): string {
  switch (kind) {
    case 'completed':
      return trans.__('completed');
    case 'failed':
      return trans.__('failed');
    case 'running':
      return trans.__('running');
    case 'pending':
      return trans.__('pending');
    default:
      return trans.__('other');
  }
}

/** "500 replicas: 312 completed, 20 failed, 150 running": the non-zero kinds, for screen readers. */
export function kindSummary(trans: TranslationBundle, counts: KindCounts, total: number): string {
  const parts: string[] = [];
  for (const kind of ['completed', 'failed', 'running', 'pending', 'other'] as ReplicaKind[]) {
    if (counts[kind] > 0) parts.push(`${counts[kind]} ${kindLabel(trans, kind)}`);
  }
  return trans._n('%1 replica: %2', '%1 replicas: %2', total, parts.join(', '));
}

/** How long a running replica has run, to the minute: the text changes at most once a minute. */
export function formatRunningFor(trans: TranslationBundle, seconds: number): string {
  if (seconds < 60) return trans.__('under 1 min');
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return trans.__('%1 min', minutes);
  return trans.__('%1 h %2 min', Math.floor(minutes / 60), String(minutes % 60).padStart(2, '0'));
}

/** The time left, or why none is said. Undefined when there is nothing worth saying. */
export function formatEta(trans: TranslationBundle, eta: BatchEta): string | undefined {
  const stragglers = eta.stragglers;
  if (eta.seconds !== undefined) {
    const minutes = Math.ceil(eta.seconds / 60);
    const left =
      eta.seconds < 60
        ? trans.__('less than a minute left')
        : minutes < 60
          ? trans.__('about %1 min left', minutes)
          : trans.__(
              'about %1 h %2 min left',
              Math.floor(minutes / 60),
              String(minutes % 60).padStart(2, '0'),
            );
    if (stragglers === 0) return left;
    return trans._n(
      '%2, not counting %1 replica running longer than any completed one',
      '%2, not counting %1 replicas running longer than any completed one',
      stragglers,
      left,
    );
  }
  if (eta.reason === 'only-stragglers') {
    return trans._n(
      'No estimate: %1 replica is running longer than any completed one',
      'No estimate: %1 replicas are running longer than any completed one',
      stragglers,
    );
  }
  return undefined;
}

/** "2 cores · 8 GB · 1 GPU" as asked for each replica, or "flexible" when the platform decides. */
export function formatAsked(trans: TranslationBundle, resources: BatchResources): string {
  const parts: string[] = [];
  if (resources.cores !== undefined) parts.push(trans._n('%1 core', '%1 cores', resources.cores));
  if (resources.ram !== undefined) parts.push(trans.__('%1 GB RAM', resources.ram));
  if (resources.gpus) parts.push(trans._n('%1 GPU', '%1 GPUs', resources.gpus));
  if (resources.cores === undefined && resources.ram === undefined) {
    parts.unshift(trans.__('flexible (the platform decides, up to its limits)'));
  }
  return parts.join(' · ');
}

/** "17 replicas failed in cell 4 with FileNotFoundError": the one line a failure group shows. */
export function failureTitle(trans: TranslationBundle, group: FailureGroup): string {
  const n = group.replicas.length;
  if (group.cell !== undefined && group.exception !== undefined)
    return trans._n(
      '%1 replica failed in cell %2 with %3',
      '%1 replicas failed in cell %2 with %3',
      n,
      group.cell,
      group.exception,
    );
  if (group.cell !== undefined)
    return trans._n('%1 replica failed in cell %2', '%1 replicas failed in cell %2', n, group.cell);
  if (group.exception !== undefined)
    return trans._n('%1 replica failed with %2', '%1 replicas failed with %2', n, group.exception);
  switch (group.reason) {
    case 'launch-failed':
      return trans._n('%1 replica could not be launched', '%1 replicas could not be launched', n);
    case 'lost':
      return trans._n(
        '%1 replica was lost: its session is gone without an exit status',
        '%1 replicas were lost: their sessions are gone without an exit status',
        n,
      );
    case 'output-missing':
      return trans._n(
        '%1 replica ended without an expected output',
        '%1 replicas ended without an expected output',
        n,
      );
    case 'exit':
      return trans._n(
        '%1 replica exited with an error code, with no error found in its log',
        '%1 replicas exited with an error code, with no error found in their logs',
        n,
      );
    default:
      return trans._n('%1 replica failed, cause unknown', '%1 replicas failed, cause unknown', n);
  }
}

/** Start to end of a replica that ended ("3 min 05 s"), from its records. */
export function endedDuration(row: ReplicaRow): string | undefined {
  if (row.durationSeconds !== undefined) return formatDuration(row.durationSeconds * 1000);
  if (row.start && row.end) return formatDuration(row.end.getTime() - row.start.getTime());
  return undefined;
}

/** The time alone for today's starts, else date and time: the panel is narrow. */
export function formatStart(start: Date, now: number): string {
  const sameDay = new Date(now).toDateString() === start.toDateString();
  return sameDay ? start.toLocaleTimeString() : start.toLocaleString();
}

/**
 * A replica in one line for tooltips and screen readers: name, what it does, how long it ran (or since
 * when it runs, so that the text does not change while it runs), its exit code.
 */
export function replicaSummary(trans: TranslationBundle, row: ReplicaRow): string {
  const parts = [row.name, replicaLabel(trans, row)];
  const kind = replicaKind(row);
  if (kind === 'running' && row.start) parts.push(trans.__('since %1', row.start.toLocaleTimeString()));
  else {
    const duration = endedDuration(row);
    if (duration) parts.push(duration);
  }
  if (row.exitCode !== undefined) parts.push(trans.__('exit %1', row.exitCode));
  const params = Object.entries(row.params ?? {});
  if (params.length > 0) parts.push(params.map(([name, value]) => `${name}=${value}`).join(' '));
  return parts.join(' · ');
}

/** The batch's title for screen readers: "Replicas of sweep (500)". */
export function gridLabel(trans: TranslationBundle, group: BatchGroup): string {
  return trans.__('Replicas of %1 (%2)', group.name, group.replicas.length);
}
