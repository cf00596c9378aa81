import { Dialog } from '@jupyterlab/apputils';
import { nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { sessionActions } from './actions';
import { serverHalfMissing } from './api';
import { CanfarModel } from './model';
import { CanfarPanel } from './panel';
import type { PanelActions } from './panel';
import { DEFAULT_SETTINGS } from './tokens';
import { FakeService, flush, INFO_OK, session } from './testing.test';

const trans = nullTranslator.load('jupyterlab_canfar');

function setup(info = async () => INFO_OK as never) {
  const service = new FakeService();
  const model = new CanfarModel({ service, info, settings: DEFAULT_SETTINGS });
  const calls: string[] = [];
  const actions: PanelActions = {
    openLogs: (s, tab) => void calls.push(`${tab}:${s.name}`),
    deleteSession: async (s) => void calls.push(`delete:${s.name}`),
    deleteBatch: async (g) => void calls.push(`delete-batch:${g.name}`),
  };
  const panel = new CanfarPanel({ model, actions, trans });
  Widget.attach(panel, document.body);
  return { service, model, panel, calls };
}

const text = (panel: CanfarPanel, selector: string) =>
  panel.node.querySelector(selector)?.textContent ?? null;

describe('CanfarPanel', () => {
  afterEach(() => {
    document.body.innerHTML = '';
  });

  it('shows loading until the first answer, then says what to do when there is nothing', async () => {
    const { model, panel } = setup();
    expect(panel.node.querySelector('[data-canfar="loading"]')).not.toBeNull();
    await model.refresh();
    expect(panel.node.querySelector('[data-canfar="loading"]')).toBeNull();
    expect(text(panel, '[data-canfar="empty"]')).toMatch(/Submit notebook as headless batch/);
    expect(text(panel, '[data-canfar="info"]')).toContain('local (http://127.0.0.1:5555/skaha)');
    expect(text(panel, '[data-canfar="info"]')).toContain('Credential: token from local server token file');
    expect(text(panel, '[data-canfar="stats"]')).toBe(
      'Platform: 377 of 960 cores and 1480.3 of 5032 GB requested',
    );
    model.dispose();
  });

  it('tells how to enable a missing server half', async () => {
    const { model, panel } = setup(async () => ({ ok: false, problem: serverHalfMissing() }) as never);
    await model.refresh();
    const error = panel.node.querySelector<HTMLElement>('[data-canfar="error"]');
    expect(error?.dataset.problem).toBe('server-half-missing');
    expect(error?.textContent).toMatch(
      /The jupyterlab_canfar server extension is not enabled: run `jupyter server extension enable jupyterlab_canfar`/,
    );
    expect(error?.querySelector('[data-canfar-action="retry"]')).not.toBeNull();
    model.dispose();
  });

  it('lists batches with k/N per status, expands to replicas, and separates other sessions', async () => {
    const { model, panel, service, calls } = setup();
    service.sessions = [
      session({
        name: 'sweep-1',
        status: 'Completed',
        requestedCPUCores: 2,
        requestedRAM: 8,
        isFixedResources: true,
      }),
      session({ name: 'sweep-2', status: 'Failed' }),
      session({ name: 'sweep-3', status: 'Running' }),
      session({ name: 'notebook1', type: 'notebook', connectURL: 'https://example.org/session/x' }),
    ];
    await model.refresh();
    const batch = panel.node.querySelector<HTMLElement>('.jp-CanfarPanel-batch');
    expect(batch?.querySelector('[data-canfar="summary"]')?.textContent).toBe(
      '1/3 Failed · 1/3 Running · 1/3 Completed',
    );
    expect(batch?.querySelector('.jp-CanfarPanel-replicas')).toBeNull();
    batch?.querySelector<HTMLButtonElement>('[data-canfar-action="toggle"]')?.click();
    const rows = panel.node.querySelectorAll<HTMLElement>('.jp-CanfarPanel-replica');
    expect(Array.from(rows).map((r) => r.dataset.name)).toEqual(['sweep-1', 'sweep-2', 'sweep-3']);
    expect(rows[0].textContent).toContain('2 CPU · 8 GB');
    // Expansion survives the next poll.
    await model.refresh();
    expect(panel.node.querySelectorAll('.jp-CanfarPanel-replica')).toHaveLength(3);

    const other = panel.node.querySelector<HTMLElement>('.jp-CanfarPanel-other');
    expect(other?.dataset.name).toBe('notebook1');
    expect(other?.querySelector('a')?.getAttribute('href')).toBe('https://example.org/session/x');

    rows[1].querySelector<HTMLButtonElement>('[data-canfar-action="logs"]')?.click();
    rows[1].querySelector<HTMLButtonElement>('[data-canfar-action="events"]')?.click();
    panel.node
      .querySelectorAll<HTMLElement>('.jp-CanfarPanel-replica')[2]
      .querySelector<HTMLButtonElement>('[data-canfar-action="delete"]')
      ?.click();
    batch?.querySelector<HTMLButtonElement>('[data-canfar-action="delete-batch"]')?.click();
    expect(calls).toEqual(['log:sweep-2', 'events:sweep-2', 'delete:sweep-3', 'delete-batch:sweep']);
    model.dispose();
  });

  it('shows recorded batches with exit codes, why a replica failed, and the log of a cleaned-up one', async () => {
    const { model, panel, service, calls } = setup();
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
    await model.refresh();
    const batch = panel.node.querySelector<HTMLElement>('.jp-CanfarPanel-batch')!;
    expect(batch.dataset.key).toBe('20260721-180000-abcd');
    expect(batch.querySelector('[data-canfar="summary"]')?.textContent).toBe('1/2 Failed · 1/2 Running');
    batch.querySelector<HTMLButtonElement>('[data-canfar-action="toggle"]')!.click();
    const [gone, running] = Array.from(panel.node.querySelectorAll<HTMLElement>('.jp-CanfarPanel-replica'));
    expect(gone.textContent).toContain('Failed (cleaned up)');
    expect(gone.querySelector('[data-canfar="exit"]')?.textContent).toBe('exit 1');
    expect(gone.textContent).toContain('cell 4 ZeroDivisionError: division by zero');
    // Gone from the platform: its saved log can be shown, there is nothing left to delete.
    expect(gone.querySelector('[data-canfar-action="delete"]')).toBeNull();
    gone.querySelector<HTMLButtonElement>('[data-canfar-action="logs"]')!.click();
    expect(calls).toEqual(['log:fit-1']);
    expect(running.querySelector('[data-canfar-action="delete"]')).not.toBeNull();
    model.dispose();
  });

  it('refreshes at once when shown', async () => {
    const { model, panel, service } = setup();
    panel.hide();
    await flush();
    const before = service.count('list');
    panel.show();
    await model.poll.tick;
    await flush();
    expect(service.count('list')).toBe(before + 1);
    model.dispose();
  });
});

describe('delete confirmation', () => {
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
