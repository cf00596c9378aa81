/**
 * Test support for src/batch (not a test file: jest runs *.spec.ts): a platform held in memory whose
 * sessions a test moves from state to state, for the monitor's tests and bench/monitor.ts.
 */
import type { Session, SessionStatus, SkahaClient } from '../skaha';

export interface PlatformInMemory {
  /** The parts of a SkahaClient that submit and the monitor use. */
  client: SkahaClient;
  sessions: Session[];
  /** The session ids whose events were asked, in order. */
  events: string[];
  /** Moves session `index` to `status`, with a start time (a pod) unless `started` is false. */
  set(index: number, status: SessionStatus, started?: boolean): void;
}

export function platformInMemory(
  options: { status?: SessionStatus; started?: boolean; log?: string; eventsText?: string } = {},
): PlatformInMemory {
  const { status = 'Pending', started = false, log = '', eventsText = '<none>\n' } = options;
  const sessions: Session[] = [];
  const events: string[] = [];
  const client = {
    async list() {
      return sessions.map((s) => ({ ...s }));
    },
    async context() {
      return undefined;
    },
    async repositories() {
      return undefined;
    },
    async images() {
      return undefined;
    },
    async create(spec: { name: string; env?: Record<string, string> }) {
      const id = `s${String(sessions.length + 1).padStart(7, '0')}`;
      sessions.push({
        id,
        name: spec.name,
        status,
        image: 'images.canfar.net/skaha/astroml:latest',
        type: 'headless',
        ...(started ? { startTime: new Date() } : {}),
        raw: { env: spec.env ?? {} },
      });
      return id;
    },
    async events(id: string) {
      events.push(id);
      return [];
    },
    async eventsText() {
      return eventsText;
    },
    async logs() {
      return log;
    },
  } as unknown as SkahaClient;
  const set = (index: number, next: SessionStatus, withPod = true) => {
    sessions[index].status = next;
    sessions[index].startTime = withPod ? new Date() : undefined;
  };
  return { client, sessions, events, set };
}
