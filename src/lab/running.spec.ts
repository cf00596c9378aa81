import { nullTranslator } from '@jupyterlab/translation';
import { CanfarModel } from './model';
import { CanfarRunningManager, MAX_CHILDREN } from './running';
import { DEFAULT_SETTINGS } from './tokens';
import { FakeService, INFO_OK, session } from './testing.test';

const trans = nullTranslator.load('jupyterlab_canfar');

describe('CanfarRunningManager', () => {
  it('lists live batches as parents of their replicas, with status and resources as detail', async () => {
    const service = new FakeService();
    service.sessions = [
      session({ name: 'sweep-1', status: 'Running', requestedCPUCores: 2, requestedRAM: 8 }),
      session({ name: 'sweep-2', status: 'Completed' }),
      session({ name: 'sweep-3', status: 'Pending' }),
      session({ name: 'old-1', status: 'Completed' }),
      session({ name: 'desk', type: 'desktop', status: 'Running' }),
    ];
    const model = new CanfarModel({ service, info: async () => INFO_OK, settings: DEFAULT_SETTINGS });
    const deleted: string[] = [];
    const manager = new CanfarRunningManager(
      model,
      {
        open: () => undefined,
        deleteSession: async (s, ask) => void deleted.push(`${s.name}:${ask}`),
        deleteBatch: async (g) => void deleted.push(`batch ${g.name}`),
      },
      trans,
    );
    let changed = 0;
    manager.runningChanged.connect(() => changed++);
    await model.refresh();
    expect(changed).toBeGreaterThan(0);

    const tree = manager.running({ mode: 'tree' });
    expect(tree.map((item) => item.label())).toEqual(['sweep', 'desk']);
    expect(tree[0].detail?.()).toBe('1/3 Running · 1/3 Pending · 1/3 Completed');
    expect(tree[0].children?.map((child) => [child.label(), child.detail?.()])).toEqual([
      ['sweep-1', 'Running · 2 CPU · 8 GB'],
      ['sweep-3', 'Pending'],
    ]);
    // The list view too has one line per batch, not one per replica.
    expect(manager.running({ mode: 'list' }).map((item) => [item.label(), item.children])).toEqual([
      ['sweep', undefined],
      ['desk', undefined],
    ]);

    // JupyterLab 4.0 calls running() with no options and reads the confirmation text as a string.
    expect(manager.running().map((item) => item.label())).toEqual(['sweep', 'desk']);
    expect(manager.shutdownAllConfirmationText).toBe('Delete 3 CANFAR sessions that are not finished?');
    manager.shutdownAll();
    tree[0].shutdown?.();
    await Promise.resolve();
    expect(deleted).toEqual(['sweep-1:false', 'sweep-3:false', 'desk:false', 'batch sweep']);
    model.dispose();
  });

  it('keeps a batch of 1,000 replicas one item with its counts, its first replicas, and the way to the rest', async () => {
    const service = new FakeService();
    service.sessions = Array.from({ length: 1000 }, (_, i) =>
      session({ name: `huge-${i + 1}`, status: i < 600 ? 'Running' : i < 900 ? 'Pending' : 'Completed' }),
    );
    const model = new CanfarModel({ service, info: async () => INFO_OK, settings: DEFAULT_SETTINGS });
    const shown: string[] = [];
    const manager = new CanfarRunningManager(
      model,
      {
        open: () => undefined,
        deleteSession: async () => undefined,
        deleteBatch: async () => undefined,
        showBatch: (group) => void shown.push(group.key),
      },
      trans,
    );
    await model.refresh();
    // JupyterLab 4.0 asks without options: the tree.
    const [batch] = manager.running();
    expect(batch.label()).toBe('huge');
    expect(batch.detail?.()).toBe('600/1000 Running · 300/1000 Pending · 100/1000 Completed');
    expect(batch.children).toHaveLength(MAX_CHILDREN + 1);
    const more = batch.children![MAX_CHILDREN];
    expect(more.label()).toBe('880 more replicas: open the batch in the CANFAR panel');
    more.open?.();
    batch.open?.();
    expect(shown).toEqual(['name:huge', 'name:huge']);
    model.dispose();
  });
});
