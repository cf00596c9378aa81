import { nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { SkahaError } from '../skaha';
import { LogViewerContent } from './logviewer';
import { CanfarModel } from './model';
import { DEFAULT_SETTINGS } from './tokens';
import { FakeService, INFO_OK, eventually, session } from './testing.test';

const trans = nullTranslator.load('jupyterlab_canfar');

async function setup(
  options: {
    maxLines?: number;
    interval?: number;
    capturedLog?: (id: string) => Promise<string | undefined>;
  } = {},
) {
  const service = new FakeService();
  const target = session({ name: 'sweep-1', status: 'Running' });
  service.sessions = [target];
  const model = new CanfarModel({ service, info: async () => INFO_OK, settings: DEFAULT_SETTINGS });
  await model.refresh();
  const content = new LogViewerContent({
    model,
    trans,
    sessionId: target.id,
    name: target.name,
    maxLines: options.maxLines ?? 100,
    interval: options.interval ?? 60_000,
    capturedLog: options.capturedLog,
  });
  Widget.attach(content, document.body);
  return { service, model, content, target };
}

const shownLines = (content: LogViewerContent) => content.logView.pre.textContent!.split('\n');

describe('LogViewerContent', () => {
  afterEach(() => {
    document.body.innerHTML = '';
  });

  it('appends only what is new at each poll and keeps the partial line', async () => {
    const { service, model, content, target } = await setup();
    service.logText[target.id] = 'step 1\nstep 2\nworking';
    await content.refresh();
    expect(content.logView.pre.textContent).toBe('step 1\nstep 2\nworking');
    const before = content.logView.pre.childNodes.length;
    service.logText[target.id] = 'step 1\nstep 2\nworking... done\nstep 3\n';
    await content.refresh();
    expect(content.logView.pre.textContent).toBe('step 1\nstep 2\nworking... done\nstep 3\n');
    // One node was added for the new lines: the old text was not rebuilt.
    expect(content.logView.pre.childNodes.length).toBe(before + 1);
    expect(content.following).toBe(true);
    expect(content.node.textContent).toContain('Running: following the log');
    content.dispose();
    model.dispose();
  });

  it('stays bounded on a 100 MB log fed across polls and shows its correct tail', async () => {
    const { service, model, content, target } = await setup({ maxLines: 1000 });
    // 1,000,000 lines of 100 characters = 100 MB, arriving in three polls; the last 1000 are numbered.
    const filler = (count: number) => `${'y'.repeat(99)}\n`.repeat(count);
    const line = (i: number) => `${String(i).padStart(8, '0')} ${'x'.repeat(90)}\n`;
    let numbered = '';
    for (let i = 999_000; i < 1_000_000; i++) numbered += line(i);
    const first = filler(400_000);
    const second = first + filler(350_000);
    const third = second + filler(249_000) + numbered;
    for (const whole of [first, second, third]) {
      service.logText[target.id] = whole;
      await content.refresh();
      expect(shownLines(content).length).toBeLessThanOrEqual(1001);
      expect(content.logView.tail.lines.length).toBeLessThanOrEqual(1000);
    }
    expect(third.length).toBe(100_000_000);
    const lines = shownLines(content);
    expect(lines[lines.length - 1]).toBe('');
    expect(lines[lines.length - 2]).toBe(line(999_999).trimEnd());
    expect(lines[0]).toBe(line(999_000).trimEnd());
    expect(content.logView.tail.lines).toHaveLength(1000);
    expect(content.node.querySelector('.jp-CanfarLog-hidden')?.textContent).toBe(
      '999000 earlier lines hidden',
    );
    content.dispose();
    model.dispose();
  });

  it('stops following once the session is finished, after reading the complete log', async () => {
    const { service, model, content, target } = await setup();
    service.logText[target.id] = 'a\n';
    await content.refresh();
    service.sessions = [{ ...target, status: 'Completed' }];
    service.logText[target.id] = 'a\nb\nbye\n';
    await model.refresh();
    await content.refresh();
    expect(content.logView.pre.textContent).toBe('a\nb\nbye\n');
    expect(content.following).toBe(false);
    expect(content.node.textContent).toContain('Completed: the log is complete.');
    const calls = service.count(`logs:${target.id}`);
    await content.refresh();
    expect(service.count(`logs:${target.id}`)).toBe(calls);
    content.dispose();
    model.dispose();
  });

  it('shows the log saved in the batch folder once the platform forgot the session', async () => {
    const { service, model, content, target } = await setup({
      capturedLog: async (id) => (id === target.id ? 'saved by run.sh\nexit 0\n' : undefined),
    });
    service.sessions = [];
    await model.refresh();
    await content.refresh();
    expect(content.logView.pre.textContent).toBe('saved by run.sh\nexit 0\n');
    expect(content.following).toBe(false);
    expect(content.node.textContent).toContain('showing the log saved in the batch folder');
    content.dispose();
    model.dispose();
  });

  it('fetches nothing while another tab hides it, and catches up when shown again', async () => {
    const { service, model, content, target } = await setup({ interval: 20 });
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    await content.start();
    const fetches = () => service.count(`logs:${target.id}`);
    await eventually(() => fetches() >= 2);
    expect(fetches()).toBeGreaterThanOrEqual(2);
    content.hide();
    await sleep(50);
    const hidden = fetches();
    await sleep(200);
    expect(fetches()).toBe(hidden);
    content.show();
    await eventually(() => fetches() > hidden);
    expect(fetches()).toBeGreaterThan(hidden);
    content.dispose();
    model.dispose();
  });

  it('shows the events as a table on the Events tab', async () => {
    const { service, model, content, target } = await setup();
    service.eventList[target.id] = [
      {
        type: 'Normal',
        reason: 'Scheduled',
        message: 'Successfully assigned',
        firstTime: '10s',
        lastTime: '10s',
      },
      { type: 'Warning', reason: 'Failed', message: 'ErrImagePull', firstTime: '5s', lastTime: '1s' },
    ];
    content.tabs.currentIndex = 1;
    await new Promise((resolve) => setTimeout(resolve, 0));
    const rows = content.eventsView.node.querySelectorAll('tr');
    expect(rows).toHaveLength(3);
    expect(rows[2].className).toBe('jp-mod-warning');
    expect(rows[2].textContent).toContain('ErrImagePull');
    content.dispose();
    model.dispose();
  });

  it('says a queued session has no pod yet when the service answers its events with 404, not an error', async () => {
    const { service, model, content } = await setup();
    service.eventsError = new SkahaError('not-found', 'events of session abc: 404 session abc not found.', {
      status: 404,
    });
    content.tabs.currentIndex = 1;
    await eventually(() => content.eventsView.node.textContent !== '');
    expect(content.eventsView.node.textContent).toBe(
      'No events: the session has no pod yet (queued) or no longer has one.',
    );
    // Any other failure is shown as one.
    service.eventsError = new SkahaError('server-error', 'events of session abc: 500 boom', { status: 500 });
    content.tabs.currentIndex = 0;
    content.tabs.currentIndex = 1;
    await eventually(() => content.eventsView.node.textContent?.includes('boom') === true);
    expect(content.eventsView.node.textContent).toContain('500 boom');
    content.dispose();
    model.dispose();
  });
});
