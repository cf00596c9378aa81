import { Dialog } from '@jupyterlab/apputils';
import { nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { act } from 'react';
import { sessionActions } from './actions';
import { serverHalfMissing } from './api';
import { CanfarModel } from './model';
import { CanfarPanel } from './panel';
import type { PanelActions } from './panel';
import { DEFAULT_SETTINGS } from './tokens';
import type { BatchReplicaSummary, BatchSummary } from './tokens';
import { FakeService, flush, INFO_OK, session } from './testing.test';

// React renders the panel; `act` flushes its updates before the assertions.
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const trans = nullTranslator.load('jupyterlab_canfar');
const NOW = Date.parse('2026-07-21T18:30:00Z');

let panels: CanfarPanel[] = [];

async function setup(info = async () => INFO_OK as never) {
  const service = new FakeService();
  const model = new CanfarModel({ service, info, settings: DEFAULT_SETTINGS, now: () => NOW });
  const calls: string[] = [];
  const actions: PanelActions = {
    openLogs: (s, tab) => void calls.push(`${tab}:${s.name}`),
    deleteSession: async (s) => void calls.push(`delete:${s.name}`),
    deleteBatch: async (g) => void calls.push(`delete-batch:${g.name}`),
    openFile: (path) => void calls.push(`open:${path}`),
    rerun: async (g, onlyFailed) => void calls.push(`rerun:${g.name}:${onlyFailed}`),
  };
  const panel = new CanfarPanel({ model, actions, trans, now: () => NOW });
  panels.push(panel);
  await act(async () => Widget.attach(panel, document.body));
  return { service, model, panel, calls };
}

/** Runs `action` (a click, a poll) and lets React commit what it caused. */
async function settle(action?: () => unknown): Promise<void> {
  await act(async () => {
    await action?.();
  });
}

const text = (root: CanfarPanel | Element, selector: string) =>
  (root instanceof CanfarPanel ? root.node : root).querySelector(selector)?.textContent ?? null;

const click = (node: Element | null | undefined) => settle(() => (node as HTMLElement | null)?.click());

function batchOf(panel: CanfarPanel, key: string): HTMLElement {
  const node = [...panel.node.querySelectorAll<HTMLElement>('.jp-CanfarPanel-batch')].find(
    (item) => item.dataset.key === key,
  );
  if (!node) throw new Error(`no batch ${key} in the panel`);
  return node;
}

const replica = (index: number, extra: Partial<BatchReplicaSummary> = {}): BatchReplicaSummary => ({
  index,
  name: `fit-${index}`,
  sessionId: `gone${String(index).padStart(4, '0')}`,
  ...extra,
});

describe('CanfarPanel', () => {
  afterEach(async () => {
    await act(async () => panels.forEach((panel) => panel.dispose()));
    panels = [];
    document.body.innerHTML = '';
  });

  it('shows loading until the first answer, then says what to do when there is nothing', async () => {
    const { model, panel } = await setup();
    expect(panel.node.querySelector('[data-canfar="loading"]')).not.toBeNull();
    await settle(() => model.refresh());
    expect(panel.node.querySelector('[data-canfar="loading"]')).toBeNull();
    expect(text(panel, '[data-canfar="empty"]')).toMatch(/Submit notebook as headless batch/);
    expect(text(panel, '[data-canfar="info"]')).toContain('local (http://127.0.0.1:5555/skaha)');
    expect(text(panel, '[data-canfar="info"]')).toContain('Credential: token from local server token file');
    expect(text(panel, '[data-canfar="stats"]')).toBe(
      'Platform: 377 of 960 cores and 1480.3 of 5032 GB requested',
    );
    expect(panel.node.querySelector('[data-canfar="version-warning"]')).toBeNull();
    model.dispose();
  });

  it('shows the version warning of the server half in the header', async () => {
    const warning =
      'The server half is 0.2.0 and this extension 0.1.0: reinstall jupyterlab-canfar, then restart Jupyter.';
    const { model, panel } = await setup(
      async () => ({ ok: true, info: { ...INFO_OK.info, versionWarning: warning } }) as never,
    );
    await settle(() => model.refresh());
    expect(text(panel, '[data-canfar="version-warning"]')).toBe(warning);
    model.dispose();
  });

  it('tells how to enable a missing server half', async () => {
    const { model, panel } = await setup(async () => ({ ok: false, problem: serverHalfMissing() }) as never);
    await settle(() => model.refresh());
    const error = panel.node.querySelector<HTMLElement>('[data-canfar="error"]');
    expect(error?.dataset.problem).toBe('server-half-missing');
    expect(error?.textContent).toMatch(
      /The jupyterlab_canfar server extension is not enabled: run `jupyter server extension enable jupyterlab_canfar`/,
    );
    expect(error?.querySelector('[data-canfar-action="retry"]')).not.toBeNull();
    model.dispose();
  });

  it('lists batches with k/N per status, expands to replicas, and separates other sessions', async () => {
    const { model, panel, service, calls } = await setup();
    service.sessions = [
      session({
        name: 'sweep-1',
        status: 'Completed',
        requestedCPUCores: 2,
        requestedRAM: 8.589934592,
        isFixedResources: true,
      }),
      session({ name: 'sweep-2', status: 'Failed' }),
      session({ name: 'sweep-3', status: 'Running' }),
      session({ name: 'notebook1', type: 'notebook', connectURL: 'https://example.org/session/x' }),
    ];
    await settle(() => model.refresh());
    const batch = batchOf(panel, 'name:sweep');
    expect(batch.querySelector('[data-canfar="summary"]')?.textContent).toBe(
      '1/3 Failed · 1/3 Running · 1/3 Completed',
    );
    // The stacked bar: one segment per kind, sized by count, named for screen readers.
    const segments = [...batch.querySelectorAll<HTMLElement>('.jp-CanfarProgress-segment')];
    expect(segments.map((s) => [s.dataset.kind, s.dataset.count])).toEqual([
      ['completed', '1'],
      ['failed', '1'],
      ['running', '1'],
    ]);
    expect(batch.querySelector('.jp-CanfarProgress-bar')?.getAttribute('aria-label')).toBe(
      '3 replicas: 1 completed, 1 failed, 1 running',
    );
    expect(batch.querySelector('.jp-CanfarPanel-replicas')).toBeNull();
    const toggle = batch.querySelector<HTMLButtonElement>('[data-canfar-action="toggle"]')!;
    // The toggle's accessible name is its visible label, the batch's name.
    expect(toggle.textContent).toBe('sweep');
    expect(toggle.getAttribute('aria-label')).toBeNull();
    await click(toggle);
    expect(toggle.getAttribute('aria-expanded')).toBe('true');
    const rows = panel.node.querySelectorAll<HTMLElement>('.jp-CanfarPanel-replica');
    expect(Array.from(rows).map((r) => r.dataset.name)).toEqual(['sweep-1', 'sweep-2', 'sweep-3']);
    // 8 GiB as the platform reports it is the 8 "GB" that were asked.
    expect(rows[0].textContent).toContain('2 CPU · 8 GB');
    // The grid: one cell per replica, coloured by kind.
    const cells = [...batch.querySelectorAll<HTMLElement>('[data-canfar="grid"] [role="option"]')];
    expect(cells.map((c) => c.className)).toEqual([
      'jp-CanfarGrid-cell jp-mod-completed jp-mod-active',
      'jp-CanfarGrid-cell jp-mod-failed',
      'jp-CanfarGrid-cell jp-mod-running',
    ]);
    expect(cells[2].getAttribute('aria-label')).toBe(
      'sweep-3 · Running · since ' + new Date('2026-07-21T18:00:00Z').toLocaleTimeString(),
    );
    // Running for 30 minutes at NOW, to the minute.
    expect(rows[2].querySelector('[data-canfar="running-for"]')?.textContent).toBe('30 min');
    // Expansion survives the next poll.
    await settle(() => model.refresh());
    expect(panel.node.querySelectorAll('.jp-CanfarPanel-replica')).toHaveLength(3);

    const other = panel.node.querySelector<HTMLElement>('.jp-CanfarPanel-other');
    expect(other?.dataset.name).toBe('notebook1');
    expect(other?.querySelector('a')?.getAttribute('href')).toBe('https://example.org/session/x');

    await click(rows[1].querySelector('[data-canfar-action="logs"]'));
    await click(rows[1].querySelector('[data-canfar-action="events"]'));
    await click(
      panel.node
        .querySelectorAll('.jp-CanfarPanel-replica')[2]
        .querySelector('[data-canfar-action="delete"]'),
    );
    await click(batch.querySelector('[data-canfar-action="delete-batch"]'));
    expect(calls).toEqual(['log:sweep-2', 'events:sweep-2', 'delete:sweep-3', 'delete-batch:sweep']);
    model.dispose();
  });

  it('touches no DOM node on a poll that finds nothing new, and only the changed row on one that does', async () => {
    const { model, panel, service } = await setup();
    service.sessions = Array.from({ length: 120 }, (_, i) =>
      session({ id: `r${String(i + 1).padStart(7, '0')}`, name: `big-${i + 1}`, status: 'Running' }),
    );
    await settle(() => model.refresh());
    await click(batchOf(panel, 'name:big').querySelector('[data-canfar-action="toggle"]'));
    const logs = panel.node.querySelector<HTMLButtonElement>(
      '.jp-CanfarPanel-replica[data-name="big-2"] [data-canfar-action="logs"]',
    )!;
    logs.focus();
    const mutations: MutationRecord[] = [];
    const observer = new MutationObserver((records) => mutations.push(...records));
    observer.observe(panel.node, { subtree: true, childList: true, attributes: true, characterData: true });
    let emitted = 0;
    model.stateChanged.connect(() => emitted++);

    await settle(() => model.refresh());
    await settle(() => flush());
    mutations.push(...observer.takeRecords());
    expect(emitted).toBe(0);
    expect(mutations).toEqual([]);

    // Replica 1 completes: its row, its cell, the summary and the bar change; nothing else is rebuilt.
    service.sessions = service.sessions.map((s) => (s.name === 'big-1' ? { ...s, status: 'Completed' } : s));
    await settle(() => model.refresh());
    mutations.push(...observer.takeRecords());
    observer.disconnect();
    expect(emitted).toBe(1);
    const touchedRows = new Set(
      mutations
        .map((m) =>
          (m.target instanceof Element ? m.target : m.target.parentElement)?.closest<HTMLElement>(
            '.jp-CanfarPanel-replica',
          ),
        )
        .filter((row): row is HTMLElement => !!row)
        .map((row) => row.dataset.name),
    );
    expect([...touchedRows]).toEqual(['big-1']);
    const cells = mutations.filter(
      (m) => m.target instanceof Element && m.target.classList.contains('jp-CanfarGrid-cell'),
    );
    expect(new Set(cells.map((m) => (m.target as HTMLElement).id)).size).toBe(1);
    expect(mutations.length).toBeLessThan(30);
    // The focused button is the same node, still focused.
    expect(document.activeElement).toBe(logs);
    expect(logs.isConnected).toBe(true);
    expect(text(panel, '[data-canfar="summary"]')).toBe('119/120 Running · 1/120 Completed');
    model.dispose();
  });

  it('pages and filters a large batch, and opens a replica from the grid with the keyboard', async () => {
    const { model, panel, service } = await setup();
    service.sessions = Array.from({ length: 120 }, (_, i) =>
      session({ name: `big-${i + 1}`, status: i % 40 === 5 ? 'Failed' : 'Running' }),
    );
    await settle(() => model.refresh());
    const batch = batchOf(panel, 'name:big');
    await click(batch.querySelector('[data-canfar-action="toggle"]'));
    const names = () =>
      [...batch.querySelectorAll<HTMLElement>('[data-canfar="replicas"] > li')].map((r) => r.dataset.name);
    expect(names()).toHaveLength(50);
    expect(text(panel, '[data-canfar="page"]')).toBe('1–50 of 120');
    await click(batch.querySelector('[data-canfar-action="next-page"]'));
    expect(names()[0]).toBe('big-51');
    expect(text(panel, '[data-canfar="page"]')).toBe('51–100 of 120');
    await click(batch.querySelector('[data-canfar-filter="failed"]'));
    expect(names()).toEqual(['big-6', 'big-46', 'big-86']);
    expect(batch.querySelector('[data-canfar-filter="failed"]')?.getAttribute('aria-pressed')).toBe('true');
    expect(batch.querySelector('[data-canfar="page"]')).toBeNull();

    const grid = batch.querySelector<HTMLElement>('[data-canfar="grid"]')!;
    expect(grid.getAttribute('role')).toBe('listbox');
    expect(grid.tabIndex).toBe(0);
    expect(grid.getAttribute('aria-label')).toBe('Replicas of big (120)');
    grid.focus();
    const key = (name: string) =>
      settle(() => grid.dispatchEvent(new KeyboardEvent('keydown', { key: name, bubbles: true })));
    await key('ArrowRight');
    await key('ArrowRight');
    const active = grid.getAttribute('aria-activedescendant')!;
    expect(batch.querySelector(`#${active}`)?.getAttribute('aria-label')).toMatch(/^big-3 · Running/);
    await key('Enter');
    expect(
      batch.querySelector('[data-canfar="opened"] .jp-CanfarPanel-replica')?.getAttribute('data-name'),
    ).toBe('big-3');
    expect(batch.querySelector(`#${active}`)?.getAttribute('aria-selected')).toBe('true');
    await key('End');
    expect(
      batch.querySelector(`#${grid.getAttribute('aria-activedescendant')}`)?.getAttribute('aria-label'),
    ).toMatch(/^big-120 /);
    // A click on a cell opens it too.
    await click(batch.querySelector('[data-canfar="grid"] [role="option"]'));
    expect(
      batch.querySelector('[data-canfar="opened"] .jp-CanfarPanel-replica')?.getAttribute('data-name'),
    ).toBe('big-1');
    expect(document.activeElement).toBe(grid);
    model.dispose();
  });

  it('shows recorded batches with exit codes, why a replica failed, and the log of a cleaned-up one', async () => {
    const { model, panel, service, calls } = await setup();
    const live = session({ name: 'fit-2', status: 'Running' });
    service.sessions = [live];
    model.setBatchSource({
      batches: async () => [
        {
          id: '20260721-180000-abcd',
          name: 'fit',
          total: 2,
          folder: 'work/canfar-batches/20260721-180000-abcd',
          replicas: [
            {
              index: 1,
              name: 'fit-1',
              sessionId: 'gone0001',
              status: 'Failed',
              exitCode: 1,
              cleanedUp: true,
              message: 'cell 4 ZeroDivisionError: division by zero',
            },
            { index: 2, name: 'fit-2', sessionId: live.id },
          ],
        },
      ],
    });
    await settle(() => model.refresh());
    const batch = batchOf(panel, '20260721-180000-abcd');
    expect(batch.querySelector('[data-canfar="summary"]')?.textContent).toBe('1/2 Failed · 1/2 Running');
    await click(batch.querySelector('[data-canfar-action="toggle"]'));
    const [gone, running] = Array.from(
      panel.node.querySelectorAll<HTMLElement>('[data-canfar="replicas"] .jp-CanfarPanel-replica'),
    );
    expect(gone.textContent).toContain('Failed (cleaned up)');
    expect(gone.querySelector('[data-canfar="exit"]')?.textContent).toBe('exit 1');
    expect(gone.textContent).toContain('cell 4 ZeroDivisionError: division by zero');
    // Gone from the platform: its saved log can be shown, there is nothing left to delete.
    expect(gone.querySelector('[data-canfar-action="delete"]')).toBeNull();
    await click(gone.querySelector('[data-canfar-action="logs"]'));
    expect(calls).toEqual(['log:fit-1']);
    expect(running.querySelector('[data-canfar-action="delete"]')).not.toBeNull();
    model.dispose();
  });

  it('renders what the monitor adds: queue, requeues, attempts, sweeps, resources, canary, combine and failures', async () => {
    const { model, panel, calls } = await setup();
    const t = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString();
    const failure = (cell: number, exception: string, message: string) => ({ cell, exception, message });
    const sweep: BatchSummary = {
      id: '20260721-170000-swee',
      name: 'sweep',
      total: 8,
      folder: 'work/canfar-batches/20260721-170000-swee',
      createdAt: t(60),
      phase: 'running',
      resources: { cores: 2, ram: 8 },
      sweep: { parameters: ['alpha', 'n'], sets: [], shards: 2 },
      combine: { state: 'skipped', log: 'logs/combine.log' },
      counts: { queued: 2 },
      replicas: [
        replica(1, {
          state: 'completed',
          status: 'Completed',
          exitCode: 0,
          start: t(50),
          end: t(40),
          params: { alpha: '0.1', n: '10' },
        }),
        replica(2, {
          state: 'failed',
          status: 'Failed',
          exitCode: 1,
          start: t(50),
          end: t(45),
          params: { alpha: '0.1', n: '2' },
          failure: failure(4, 'FileNotFoundError', "No such file: 'a.csv'"),
        }),
        replica(3, {
          state: 'failed',
          status: 'Failed',
          exitCode: 1,
          start: t(50),
          end: t(45),
          params: { alpha: '0.2', n: '10' },
          failure: failure(4, 'FileNotFoundError', "No such file: 'b.csv'"),
        }),
        replica(4, {
          state: 'output-missing',
          status: 'Failed',
          exitCode: 0,
          start: t(50),
          end: t(44),
          params: { alpha: '0.2', n: '2' },
        }),
        replica(5, { state: 'requeued', attempt: 2, params: { alpha: '0.3', n: '10' } }),
        replica(6, { state: 'running', attempt: 2, start: t(5), params: { alpha: '0.3', n: '2' } }),
        replica(7, { state: 'queued', params: { alpha: '0.4', n: '10' } }),
        replica(8, { state: 'queued', params: { alpha: '0.4', n: '2' } }),
      ],
    };
    const canary: BatchSummary = {
      id: '20260721-175000-cana',
      name: 'careful',
      total: 40,
      createdAt: t(10),
      phase: 'canary',
      replicas: [replica(1, { state: 'running', start: t(2) })],
    };
    model.setBatchSource({ batches: async () => [sweep, canary] });
    await settle(() => model.refresh());

    const careful = batchOf(panel, canary.id);
    expect(text(careful, '[data-canfar="note-canary"]')).toBe(
      'Canary: replica 1 runs alone first; the other 39 replicas are launched once it completes.',
    );
    const batch = batchOf(panel, sweep.id);
    expect(text(batch, '[data-canfar="note-queued"]')).toBe(
      "2 waiting in the platform's queue: CANFAR runs headless work behind interactive sessions, as capacity frees up.",
    );
    expect(text(batch, '[data-canfar="note-requeued"]')).toMatch(/^1 requeued: the platform stopped it/);
    expect(text(batch, '[data-canfar="note-output-missing"]')).toBe(
      '1 replica ended without an expected output (counted as failed).',
    );
    // One completed replica is not enough to say when the batch ends.
    expect(batch.querySelector('[data-canfar="eta"]')).toBeNull();
    await click(batch.querySelector('[data-canfar-action="toggle"]'));
    expect(text(batch, '[data-canfar="resources"]')).toBe('Asked for each replica: 2 cores · 8 GB RAM');

    const rows = () => [...batch.querySelectorAll<HTMLElement>('[data-canfar="replicas"] > li')];
    const row = (name: string) => rows().find((r) => r.dataset.name === name)!;
    expect(text(row('fit-5'), '.jp-CanfarPanel-status')).toBe('Requeued after attempt 2');
    expect(text(row('fit-6'), '.jp-CanfarPanel-status')).toBe('Running (attempt 2)');
    expect(text(row('fit-7'), '.jp-CanfarPanel-status')).toBe('Queued');
    expect(text(row('fit-4'), '.jp-CanfarPanel-status')).toBe('Output missing');
    // One column per swept parameter, sortable and filterable.
    expect([...batch.querySelectorAll('.jp-CanfarReplicas-header span')].map((s) => s.textContent)).toEqual([
      'Replica',
      'alpha',
      'n',
      'Status',
    ]);
    expect(
      [...row('fit-3').querySelectorAll<HTMLElement>('.jp-CanfarPanel-param')].map((p) => p.textContent),
    ).toEqual(['alpha = 0.2', 'n = 10']);
    const sort = batch.querySelector<HTMLSelectElement>('[data-canfar="sort"]')!;
    await settle(() => {
      sort.value = 'param:n';
      sort.dispatchEvent(new Event('change', { bubbles: true }));
    });
    expect(rows().map((r) => r.dataset.name)).toEqual([
      'fit-2',
      'fit-4',
      'fit-6',
      'fit-8',
      'fit-1',
      'fit-3',
      'fit-5',
      'fit-7',
    ]);
    const alpha = batch.querySelector<HTMLSelectElement>('[data-canfar-param-filter="alpha"]')!;
    expect([...alpha.options].map((o) => o.value)).toEqual(['', '0.1', '0.2', '0.3', '0.4']);
    await settle(() => {
      alpha.value = '0.2';
      alpha.dispatchEvent(new Event('change', { bubbles: true }));
    });
    expect(rows().map((r) => r.dataset.name)).toEqual(['fit-4', 'fit-3']);

    // Failures by signature: the two FileNotFoundError in cell 4 are one line, expandable.
    const groups = [...batch.querySelectorAll<HTMLElement>('.jp-CanfarFailures-group')];
    expect(groups.map((g) => g.querySelector('[data-canfar="failure-title"]')?.textContent)).toEqual([
      '2 replicas failed in cell 4 with FileNotFoundError',
      '1 replica ended without an expected output',
    ]);
    const disclosure = groups[0].querySelector<HTMLButtonElement>('button')!;
    expect(disclosure.getAttribute('aria-expanded')).toBe('false');
    await click(disclosure);
    expect(
      [...groups[0].querySelectorAll<HTMLElement>('.jp-CanfarFailures-replicas > li')].map(
        (li) => li.dataset.name,
      ),
    ).toEqual(['fit-2', 'fit-3']);
    await click(groups[0].querySelector('.jp-CanfarFailures-replicas [data-canfar-action="logs"]'));
    expect(calls).toEqual(['log:fit-2']);

    // The combine is the batch's last step; skipped since replicas failed (no log to open).
    expect(text(batch, '[data-canfar="combine"]')).toBe(
      'Combine (last step): skipped: a replica failed, so there is nothing complete to combine',
    );
    expect(batch.querySelector('[data-canfar-action="combine-log"]')).toBeNull();
    model.dispose();
  });

  it('says how long is left once enough replicas completed, and opens the combine log', async () => {
    const { model, panel, calls } = await setup();
    const at = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString();
    // Ten replicas took 10 minutes each; two run since 4 minutes; two wait.
    const replicas = [
      ...Array.from({ length: 10 }, (_, i) =>
        replica(i + 1, {
          state: 'completed',
          status: 'Completed',
          exitCode: 0,
          start: at(30),
          end: at(20),
          durationSeconds: 600,
        }),
      ),
      replica(11, { state: 'running', start: at(4) }),
      replica(12, { state: 'running', start: at(4) }),
      replica(13, { state: 'pending' }),
      replica(14, { state: 'pending' }),
    ];
    model.setBatchSource({
      batches: async () => [
        {
          id: '20260721-180000-etaa',
          name: 'eta',
          total: 14,
          folder: 'f/canfar-batches/20260721-180000-etaa',
          replicas,
          combine: { state: 'running', log: 'logs/combine.log' },
        },
      ],
    });
    await settle(() => model.refresh());
    const batch = batchOf(panel, '20260721-180000-etaa');
    // 6 more minutes for the running ones, then 10 for the waiting ones on the slots they free.
    expect(text(batch, '[data-canfar="eta"]')).toBe('about 16 min left');
    await click(batch.querySelector('[data-canfar-action="toggle"]'));
    await click(batch.querySelector('[data-canfar-action="combine-log"]'));
    expect(calls).toEqual(['open:f/canfar-batches/20260721-180000-etaa/logs/combine.log']);
    model.dispose();
  });

  it('refreshes at once when shown', async () => {
    const { model, panel, service } = await setup();
    await settle(async () => {
      panel.hide();
      await flush();
    });
    const before = service.count('list');
    await settle(async () => {
      panel.show();
      await model.poll.tick;
      await flush();
    });
    expect(service.count('list')).toBe(before + 1);
    model.dispose();
  });
});

describe('delete confirmation', () => {
  // The dialogs render on their own schedule, as in JupyterLab (no act).
  beforeAll(() => {
    (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false;
  });
  afterEach(() => {
    document.body.innerHTML = '';
  });

  async function dialog(): Promise<HTMLElement> {
    for (let i = 0; i < 50; i++) {
      const node = document.querySelector<HTMLElement>('.jp-Dialog');
      if (node) return node;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error('no dialog appeared');
  }

  it('asks first when the setting says so, and does nothing on Cancel', async () => {
    const service = new FakeService();
    const target = session({ name: 'keep-me' });
    service.sessions = [target];
    const model = new CanfarModel({
      service,
      info: async () => INFO_OK,
      settings: { ...DEFAULT_SETTINGS, confirmBeforeDelete: true },
    });
    const actions = sessionActions(model, trans, async () => undefined);
    const pending = actions.deleteSession(target);
    const node = await dialog();
    expect(node.textContent).toContain('keep-me');
    node.querySelector<HTMLButtonElement>('.jp-mod-reject')?.click();
    await pending;
    expect(service.count(`delete:${target.id}`)).toBe(0);

    const again = actions.deleteSession(target);
    (await dialog()).querySelector<HTMLButtonElement>('.jp-mod-accept')?.click();
    await again;
    expect(service.count(`delete:${target.id}`)).toBe(1);
    model.dispose();
  });

  it('deletes without a dialog when confirmations are off', async () => {
    const service = new FakeService();
    const target = session({ name: 'go' });
    service.sessions = [target];
    const model = new CanfarModel({
      service,
      info: async () => INFO_OK,
      settings: { ...DEFAULT_SETTINGS, confirmBeforeDelete: false },
    });
    await sessionActions(model, trans, async () => undefined).deleteSession(target);
    expect(document.querySelector('.jp-Dialog')).toBeNull();
    expect(service.count(`delete:${target.id}`)).toBe(1);
    expect(Dialog.tracker.size).toBe(0);
    model.dispose();
  });
});
