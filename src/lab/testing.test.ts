/**
 * Test helpers for the lab specs: sessions as the parsed Session type, and a fake SessionService that
 * records calls and answers from in-memory state. Only imported by *.spec.ts files.
 */
import { MemoryBatchStore } from '../batch';
import { SkahaClient } from '../skaha';
import type { PlatformStats, Session, SessionEvent, SkahaContext, SkahaImage, Transport } from '../skaha';
import type { InfoResult } from './api';
import { BatchBridge } from './batch-bridge';
import { CanfarModel } from './model';
import type { SessionService } from './model';

let counter = 0;

export function session(overrides: Partial<Session> & { name: string }): Session {
  counter++;
  const id = overrides.id ?? `s${String(counter).padStart(7, '0')}`;
  return {
    id,
    image: 'images.canfar.net/skaha/astroml:latest',
    type: 'headless',
    status: 'Running',
    startTime: new Date('2026-07-21T18:00:00Z'),
    raw: {},
    ...overrides,
  };
}

export const CONTEXT: SkahaContext = {
  cores: { default: 2, defaultRequest: 1, defaultLimit: 8, options: [1, 2, 4, 8, 16] },
  memoryGB: { default: 8, defaultRequest: 4, defaultLimit: 32, options: [1, 2, 4, 8, 16, 32] },
  gpus: { options: [1, 2] },
  maxInteractiveSessions: 3,
};

export class FakeService implements SessionService {
  sessions: Session[] = [];
  logText: Record<string, string> = {};
  eventList: Record<string, SessionEvent[]> = {};
  calls: string[] = [];
  /** When set, `list` rejects with it. */
  listError?: Error;
  statsError?: Error;
  /** When set, `events` rejects with it. */
  eventsError?: Error;

  count(name: string): number {
    return this.calls.filter((call) => call === name).length;
  }

  async list(): Promise<Session[]> {
    this.calls.push('list');
    if (this.listError) throw this.listError;
    return [...this.sessions];
  }
  async stats(): Promise<PlatformStats> {
    this.calls.push('stats');
    if (this.statsError) throw this.statsError;
    return {
      cores: { requested: 377, available: 960, maxPerSession: 8 },
      ram: { requestedGB: 1480.25, availableGB: 5032, maxPerSessionGB: 32 },
      raw: {},
    };
  }
  async logs(id: string): Promise<string> {
    this.calls.push(`logs:${id}`);
    return this.logText[id] ?? '';
  }
  async events(id: string): Promise<SessionEvent[]> {
    this.calls.push(`events:${id}`);
    if (this.eventsError) throw this.eventsError;
    return this.eventList[id] ?? [];
  }
  async delete(id: string): Promise<void> {
    this.calls.push(`delete:${id}`);
    this.sessions = this.sessions.filter((s) => s.id !== id);
  }
  async context(): Promise<SkahaContext> {
    this.calls.push('context');
    return CONTEXT;
  }
  async images(): Promise<SkahaImage[]> {
    this.calls.push('images');
    return [{ id: 'images.canfar.net/skaha/astroml:latest', types: ['headless', 'notebook'] }];
  }
  async repositories(): Promise<string[]> {
    this.calls.push('repositories');
    return ['images.canfar.net'];
  }
}

export const INFO_OK: InfoResult = {
  ok: true,
  info: {
    endpoint: 'local',
    url: 'http://127.0.0.1:5555/skaha',
    user: 'jdoe',
    credential: { kind: 'token', source: 'local server token file' },
    ok: true,
    version: '0.1.0',
  },
};

/** Resolves after pending promise callbacks (and a macrotask) have run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Waits until `done()` holds, checking every 10 ms, for at most `timeoutMs`: a test asserts after it, so a
 * slow machine makes the test slower, not wrong.
 */
export async function eventually(done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!done() && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A session of `skahaInMemory`: what was created, and a status the test moves along. */
export interface StoredSession {
  id: string;
  name: string;
  env: string[];
  args: string;
  status: string;
}

/**
 * A real SkahaClient whose transport answers like a small Skaha service held in memory: create, list,
 * get, delete (Terminating), context, registries, images. A created session starts as `status`.
 */
export function skahaInMemory(status = 'Pending'): { client: SkahaClient; sessions: StoredSession[] } {
  const sessions: StoredSession[] = [];
  const answer = (status: number, type: string, body: string) => ({
    status,
    headers: { get: (name: string) => (name.toLowerCase() === 'content-type' ? type : null) },
    text: async () => body,
  });
  const json = (value: unknown) => answer(200, 'application/json', JSON.stringify(value));
  const wire = (s: StoredSession) => ({
    id: s.id,
    name: s.name,
    status: s.status,
    type: 'headless',
    image: 'images.canfar.net/skaha/astroml:latest',
    startTime: '2026-07-21T18:00:00Z',
  });
  const transport: Transport = async (request) => {
    const url = new URL(request.url);
    const path = url.pathname.replace(/^.*\/v1/, '');
    if (request.method === 'POST' && path === '/session') {
      const form = new URLSearchParams(request.body ?? '');
      const id = `a${String(sessions.length + 1).padStart(7, '0')}`;
      sessions.push({
        id,
        name: form.get('name')!,
        env: form.getAll('env'),
        args: form.get('args') ?? '',
        status,
      });
      return answer(200, 'text/plain', `${id}\n`);
    }
    if (request.method === 'GET' && path === '/session') return json(sessions.map(wire));
    const one = /^\/session\/([^/]+)$/.exec(path);
    const found = one ? sessions.find((s) => s.id === one[1]) : undefined;
    if (one && request.method === 'DELETE') {
      if (found) found.status = 'Terminating';
      return answer(200, 'text/plain', '');
    }
    if (one && request.method === 'GET')
      return found ? json(wire(found)) : answer(404, 'text/plain', 'not found');
    if (path === '/context') return json(CONTEXT);
    if (path === '/repository') return json(['images.canfar.net']);
    if (path === '/image')
      return json([{ id: 'images.canfar.net/skaha/astroml:latest', types: ['headless'] }]);
    return answer(404, 'text/plain', `no ${path}`);
  };
  return {
    sessions,
    client: new SkahaClient({ baseUrl: 'http://127.0.0.1:8888/canfar/api/skaha/v1', transport }),
  };
}

/** A notebook of one code cell, `print(1)`. */
export const ONE_CELL_NOTEBOOK = JSON.stringify({
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'python3', language: 'python', display_name: 'Python 3' } },
  cells: [
    { cell_type: 'code', id: 'a', metadata: {}, source: 'print(1)\n', outputs: [], execution_count: null },
  ],
});

/**
 * The panel's model with its batches from a BatchBridge, over `skahaInMemory` and an in-memory home
 * (/arc/home/jdoe) holding work/other.ipynb (`ONE_CELL_NOTEBOOK`).
 */
export async function modelWithBatches() {
  const { client, sessions } = skahaInMemory();
  const store = new MemoryBatchStore('/arc/home/jdoe');
  await store.writeTextAtomic('work/other.ipynb', ONE_CELL_NOTEBOOK);
  const bridge = new BatchBridge({ client, store });
  const model = new CanfarModel({ service: client, info: async () => INFO_OK });
  model.setBatchSource({ batches: (s) => bridge.batches(s), markDeleted: (id) => bridge.markDeleted(id) });
  return { client, sessions, store, bridge, model };
}
