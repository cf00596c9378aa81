import { SkahaError, SkahaTransportError } from '../skaha';
import { serverHalfMissing } from './api';
import { CanfarModel } from './model';
import { DEFAULT_SETTINGS } from './tokens';
import type { ICanfarSettings } from './tokens';
import { FakeService, INFO_OK, eventually, session } from './testing.test';

const settings = (overrides: Partial<ICanfarSettings> = {}): ICanfarSettings => ({
  ...DEFAULT_SETTINGS,
  ...overrides,
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('CanfarModel', () => {
  let model: CanfarModel;
  let service: FakeService;
  afterEach(() => model?.dispose());

  function make(options: { settings?: ICanfarSettings; info?: () => Promise<typeof INFO_OK> } = {}) {
    service = new FakeService();
    model = new CanfarModel({
      service,
      info: options.info ?? (async () => INFO_OK),
      settings: options.settings ?? settings(),
      statsInterval: 60_000,
    });
    return model;
  }

  it('answers one poll with one list call, grouped into batches, and stats less often', async () => {
    make();
    service.sessions = [
      session({ name: 'sweep-1', status: 'Completed' }),
      session({ name: 'sweep-2', status: 'Running' }),
      session({ name: 'desk', type: 'desktop' }),
    ];
    await model.refresh();
    expect(model.state.phase).toBe('ready');
    expect(model.state.info?.user).toBe('jdoe');
    expect(model.state.grouped.batches[0].counts).toEqual({ Completed: 1, Running: 1 });
    expect(model.state.grouped.others.map((s) => s.name)).toEqual(['desk']);
    expect(model.state.stats?.cores.available).toBe(960);
    await model.refresh();
    await model.refresh();
    expect(service.count('list')).toBe(3);
    expect(service.count('stats')).toBe(1);
  });

  it('shows the stats even when the poll that fetched them was overtaken by a newer one', async () => {
    make();
    // The first stats answer is slow; meanwhile a newer poll starts (the panel shown, the batch folders
    // joined): the older poll's answer is dropped, so the newer one must fetch the stats itself.
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const answer = service.stats.bind(service);
    let asked = 0;
    service.stats = async () => {
      if (++asked === 1) await gate;
      return answer();
    };
    await model.start();
    await eventually(() => asked === 1, 2000);
    await model.poll.refresh();
    await eventually(() => model.state.phase === 'ready', 2000);
    release();
    await eventually(() => model.state.stats !== undefined, 2000);
    expect(model.state.stats?.cores.available).toBe(960);
  });

  it('a refresh asked while a poll is under way polls again once it ended, and sees what changed meanwhile', async () => {
    make();
    await model.refresh();
    // A poll starts (a view became visible), its list answered before the sessions change...
    let listed!: () => void;
    const answered = new Promise<void>((resolve) => (listed = resolve));
    const list = service.list.bind(service);
    service.list = async () => {
      const result = await list();
      listed();
      return result;
    };
    model.setVisible('view', true);
    await answered;
    // ...then a submission launches a replica and refreshes: the refresh's answer includes it.
    service.sessions = [session({ name: 'fresh-1', status: 'Pending' })];
    await model.refresh();
    expect(model.state.grouped.batches.map((b) => b.name)).toEqual(['fresh']);
  });

  it('fetches the stats again at once when a session starts or ends, so the header matches the list', async () => {
    make();
    service.sessions = [session({ id: 'a1234567', name: 'sweep-1', status: 'Pending' })];
    await model.refresh();
    await model.refresh();
    expect(service.count('stats')).toBe(1);
    service.sessions = [session({ id: 'a1234567', name: 'sweep-1', status: 'Running' })];
    await model.refresh();
    expect(service.count('stats')).toBe(2);
    await model.refresh();
    expect(service.count('stats')).toBe(2);
  });

  it('a refresh asked while a poll is under way answers with what was listed after it was asked', async () => {
    make();
    service.sessions = [session({ id: 'a1234567', name: 'old-1', status: 'Running' })];
    // The first poll's list call waits until the test lets it answer (with the sessions of that moment).
    let answer: () => void = () => undefined;
    const list = service.list.bind(service);
    service.list = () => {
      service.list = list;
      const before = list();
      return new Promise((resolve) => (answer = () => resolve(before)));
    };
    const first = model.refresh();
    await sleep(20);
    // Meanwhile the user submits: a new session exists, and the submitter refreshes.
    service.sessions = [...service.sessions, session({ id: 'b1234567', name: 'new-1', status: 'Pending' })];
    const second = model.refresh();
    answer();
    await Promise.all([first, second]);
    expect(model.state.sessions.map((s) => s.name)).toEqual(['old-1', 'new-1']);
    expect(service.count('list')).toBe(2);
  });

  it('with no view visible, polls once, then only while a batch runs (notifications on), else stands by', async () => {
    make({ settings: settings({ refreshInterval: 0.02 }) });
    service.sessions = [session({ name: 'done-1', status: 'Completed' })];
    await model.start();
    await sleep(120);
    // One poll to learn whether anything runs: nothing does.
    expect(service.count('list')).toBe(1);

    // A batch runs (e.g. just submitted): the poll goes on with the panel closed, for its notifications.
    service.sessions = [session({ name: 'job-1', status: 'Running' })];
    await model.refresh();
    await eventually(() => service.count('list') >= 4);
    expect(service.count('list')).toBeGreaterThanOrEqual(4);
    // It ends: one more poll sees it, then the poll stands by.
    service.sessions = [session({ name: 'job-1', status: 'Completed' })];
    await sleep(60);
    const atEnd = service.count('list');
    await sleep(120);
    expect(service.count('list')).toBe(atEnd);

    model.setVisible('panel', true);
    await eventually(() => service.count('list') >= atEnd + 3);
    expect(service.count('list')).toBeGreaterThanOrEqual(atEnd + 3);

    model.setVisible('panel', false);
    await sleep(40);
    const atHide = service.count('list');
    await sleep(120);
    expect(service.count('list')).toBe(atHide);

    model.updateSettings(settings({ refreshInterval: 0.02, refreshWhenHidden: true }));
    await eventually(() => service.count('list') >= atHide + 3);
    expect(service.count('list')).toBeGreaterThanOrEqual(atHide + 3);
  });

  it('stands by with the panel closed while a batch runs when notifications are off', async () => {
    make({ settings: settings({ refreshInterval: 0.02, notifications: false }) });
    service.sessions = [session({ name: 'job-1', status: 'Running' })];
    await model.start();
    await sleep(150);
    expect(service.count('list')).toBe(1);
    model.updateSettings(settings({ refreshInterval: 0.02, notifications: true }));
    await eventually(() => service.count('list') >= 4);
    expect(service.count('list')).toBeGreaterThanOrEqual(4);
  });

  it('emits nothing for a poll that finds nothing new, and keeps what did not change the same objects', async () => {
    make();
    service.sessions = [
      session({ id: 'a0000001', name: 'a-1', status: 'Running' }),
      session({ id: 'a0000002', name: 'a-2', status: 'Running' }),
      session({ id: 'b0000001', name: 'b-1', status: 'Running' }),
    ];
    await model.refresh();
    const first = model.state;
    let emitted = 0;
    model.stateChanged.connect(() => emitted++);
    await model.refresh();
    expect(emitted).toBe(0);
    expect(model.state).toBe(first);
    expect(model.lastPolled).toBeDefined();

    service.sessions = service.sessions.map((s) => (s.id === 'a0000002' ? { ...s, status: 'Completed' } : s));
    await model.refresh();
    expect(emitted).toBe(1);
    const [a, b] = ['name:a', 'name:b'].map((key) => model.findBatch(key)!);
    const [a0, b0] = ['name:a', 'name:b'].map((key) => first.grouped.batches.find((g) => g.key === key)!);
    // The unchanged batch and the unchanged replica are the very same objects as before.
    expect(b).toBe(b0);
    expect(a).not.toBe(a0);
    expect(a.replicas[0]).toBe(a0.replicas[0]);
    expect(a.replicas[1]).not.toBe(a0.replicas[1]);
    expect(model.state.sessions[2]).toBe(first.sessions[2]);
  });

  it('takes a new refresh interval from the settings without a restart', async () => {
    make({ settings: settings({ refreshInterval: 60 }) });
    model.setVisible('panel', true);
    await model.start();
    await sleep(100);
    expect(service.count('list')).toBe(1);
    model.updateSettings(settings({ refreshInterval: 0.02 }));
    expect(model.poll.frequency.interval).toBe(20);
    // The poll reschedules on its next tick; a refresh applies the new interval at once.
    await model.refresh();
    await eventually(() => service.count('list') >= 4);
    expect(service.count('list')).toBeGreaterThanOrEqual(4);
  });

  it('says the server half is missing, and backs off while it stays so', async () => {
    // The poll's backoff draws each wait at random between the interval and three times the last one;
    // a fixed draw makes the growth exact, so the test does not depend on timing.
    const random = jest.spyOn(Math, 'random').mockReturnValue(0.5);
    const waits: number[] = [];
    make({
      settings: settings({ refreshInterval: 0.01 }),
      info: async () => {
        waits.push(model.poll.state.interval);
        return { ok: false, problem: serverHalfMissing() } as never;
      },
    });
    try {
      model.setVisible('panel', true);
      await model.start();
      for (let i = 0; i < 200 && waits.length < 5; i++) {
        await sleep(20);
      }
      expect(model.state.phase).toBe('error');
      expect(model.state.problem?.kind).toBe('server-half-missing');
      expect(model.state.problem?.message).toMatch(/jupyter server extension enable jupyterlab_canfar/);
      expect(service.count('list')).toBe(0);
      // Each failed attempt waits longer than the one before it: the 10 ms interval grows, so a missing
      // server half is not asked a hundred times a second.
      const later = waits.slice(1, 5);
      expect(later).toHaveLength(4);
      for (let i = 1; i < later.length; i++) {
        expect(later[i]).toBeGreaterThan(later[i - 1]);
      }
      expect(later[3]).toBeGreaterThan(20);
    } finally {
      random.mockRestore();
    }
  });

  it('names the endpoint URL when the endpoint cannot be reached, and recovers', async () => {
    make();
    service.listError = new SkahaTransportError('connect ECONNREFUSED 127.0.0.1:5555', { sent: false });
    await model.refresh();
    expect(model.state.phase).toBe('error');
    expect(model.state.problem?.kind).toBe('endpoint-unreachable');
    expect(model.state.problem?.message).toContain('http://127.0.0.1:5555/skaha');
    service.listError = undefined;
    await model.refresh();
    expect(model.state.phase).toBe('ready');
    expect(model.state.problem).toBeUndefined();
  });

  it('explains a refused credential', async () => {
    make();
    service.listError = new SkahaError('unauthenticated', 'GET /session: 401 not authenticated', {
      status: 401,
    });
    await model.refresh();
    expect(model.state.problem?.kind).toBe('unauthenticated');
    expect(model.state.problem?.message).toMatch(/CANFAR_TOKEN/);
  });

  it('keeps polling when only the stats fail (503 without metrics)', async () => {
    make();
    service.statsError = new SkahaError('unavailable', 'GET /session?view=stats: 503 metrics unavailable', {
      status: 503,
    });
    service.sessions = [session({ name: 'a-1' })];
    await model.refresh();
    expect(model.state.phase).toBe('ready');
    expect(model.state.stats).toBeUndefined();
    expect(model.state.statsProblem).toMatch(/503 metrics unavailable/);
  });

  it('deletes every listed session of a batch and reports the ones that failed', async () => {
    make();
    service.sessions = [session({ name: 'b-1' }), session({ name: 'b-2' }), session({ name: 'b-3' })];
    await model.refresh();
    const failing = service.sessions[1].id;
    const original = service.delete.bind(service);
    service.delete = async (id: string) => {
      if (id === failing) throw new SkahaError('server-error', 'DELETE failed: 500', { status: 500 });
      return original(id);
    };
    const failures = await model.deleteBatch(model.state.grouped.batches[0]);
    expect(failures.map((f) => f.id)).toEqual([failing]);
    expect(failures[0].error).toMatch(/DELETE failed: 500/);
    expect(service.sessions.map((s) => s.id)).toEqual([failing]);
  });
});
