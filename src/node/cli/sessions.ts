import type { Session, SessionStatus } from '../../skaha';
import { age, num, table } from './output';

export const FINISHED: readonly SessionStatus[] = ['Completed', 'Failed', 'Error'];

/** A session for --json: everything parsed, without the raw service object. */
export function sessionJson(session: Session): Omit<Session, 'raw'> {
  const { raw: _raw, ...rest } = session;
  return rest;
}

/** Oldest first; sessions not started yet (queued) last, as they are the newest. */
export function byStartTime(a: Session, b: Session): number {
  const ta = a.startTime?.getTime() ?? Number.MAX_SAFE_INTEGER;
  const tb = b.startTime?.getTime() ?? Number.MAX_SAFE_INTEGER;
  return ta - tb || a.name.localeCompare(b.name);
}

export function sessionsTable(sessions: readonly Session[], now = Date.now()): string {
  return table(sessions, [
    { header: 'ID', value: (s) => s.id },
    { header: 'NAME', value: (s) => s.name },
    { header: 'KIND', value: (s) => s.type },
    { header: 'STATUS', value: (s) => s.status },
    { header: 'CPU', value: (s) => num(s.requestedCPUCores ?? s.cpuCoresInUse), right: true },
    {
      header: 'RAM',
      value: (s) => num(s.requestedRAM ?? s.ramInUse, (s.requestedRAM ?? s.ramInUse) ? 'G' : ''),
      right: true,
    },
    { header: 'AGE', value: (s) => age(s.startTime, now), right: true },
    { header: 'IMAGE', value: (s) => s.image },
  ]);
}

/** `info` for humans: one "key: value" block per session. */
export function sessionDetails(session: Session): string {
  const rows: [string, string | undefined][] = [
    ['ID', session.id],
    ['Name', session.name],
    ['Kind', session.type],
    ['Status', session.status],
    ['Image', session.image],
    ['User', session.userid],
    ['Started', session.startTime?.toISOString()],
    ['Expires', session.expiryTime?.toISOString()],
    ['Connect URL', session.connectURL || undefined],
    [
      'Resources',
      session.isFixedResources === false ? 'flexible' : session.isFixedResources ? 'fixed' : undefined,
    ],
    ['CPU cores', session.requestedCPUCores === undefined ? undefined : num(session.requestedCPUCores)],
    ['RAM', session.requestedRAM === undefined ? undefined : num(session.requestedRAM, ' GB')],
    ['GPUs', session.requestedGPUCores ? num(session.requestedGPUCores) : undefined],
    ['CPU in use', session.cpuCoresInUse === undefined ? undefined : num(session.cpuCoresInUse)],
    ['RAM in use', session.ramInUse === undefined ? undefined : num(session.ramInUse, ' GB')],
  ];
  const shown = rows.filter((r): r is [string, string] => r[1] !== undefined && r[1] !== '');
  const width = Math.max(...shown.map(([k]) => k.length)) + 1;
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`).join('\n') + '\n';
}
