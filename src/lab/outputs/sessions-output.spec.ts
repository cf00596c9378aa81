/**
 * A session list in a notebook output: the sessions as listed when the cell ran, escaped as text, and
 * beside each its status now, from the panel's model, without running the cell again.
 */
import { MimeModel } from '@jupyterlab/rendermime';
import { SESSIONS_MIME } from '../../batch';
import { CanfarModel } from '../model';
import { FakeService, INFO_OK, session } from '../testing.test';
import { SessionsOutputWidget } from './sessions-output';

describe('SessionsOutputWidget', () => {
  it('shows the listed sessions as text, and their status now once the model knows it', async () => {
    const service = new FakeService();
    const model = new CanfarModel({ service, info: async () => INFO_OK });
    const widget = new SessionsOutputWidget({ mimeType: SESSIONS_MIME } as never, model);
    await widget.renderModel(
      new MimeModel({
        data: {
          [SESSIONS_MIME]: {
            version: 1,
            listedAt: '2026-07-21T18:00:00.000Z',
            sessions: [
              { id: 'aaaa1111', name: '<b>one</b>', type: 'headless', status: 'Running', image: 'img' },
              { id: 'bbbb2222', name: 'two', type: 'headless', status: 'Pending', image: 'img' },
            ],
          },
        },
      }),
    );
    const rows = () => [...widget.node.querySelectorAll('tbody tr')].map((tr) => tr.textContent);
    expect(widget.node.querySelector('.jp-CanfarOutput-header')?.textContent).toBe(
      '2 sessions, listed 2026-07-21T18:00:00Z',
    );
    expect(widget.node.querySelector('b')).toBeNull();
    expect(rows()[0]).toContain('<b>one</b>');
    expect(widget.node.querySelector('[data-canfar="now"]')).toBeNull();

    // The panel's model polls: one session has completed since, the other is gone.
    service.sessions = [session({ id: 'aaaa1111', name: 'one', status: 'Completed' })];
    await model.refresh();
    const now = [...widget.node.querySelectorAll('[data-canfar="now"]')].map((td) => td.textContent);
    expect(now).toEqual(['Completed', 'gone']);
    widget.dispose();
  });
});
