/**
 * The page's side of the magic's route: it tells the server half which kernels it listens to, claims a
 * request when the kernel's comm message arrives, runs it once, and posts progress and the outcome in order.
 */
import { ServerConnection } from '@jupyterlab/services';
import type { Kernel } from '@jupyterlab/services';
import { Signal } from '@lumino/signaling';
import { UsageError } from '../batch';
import { COMM_TARGET, KernelRequests } from './kernel-requests';
import type { KernelRequest } from './kernel-verbs';

const RID = 'a'.repeat(32);

function server(claimStatus = 200) {
  const posts: { path: string; body: Record<string, unknown> }[] = [];
  const fetch = async (request: Request) => {
    const path = new URL(request.url).pathname.replace('/canfar/api/kernel/', '');
    posts.push({ path, body: JSON.parse(await request.text()) });
    const reply = (status: number, body: unknown) =>
      new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
    if (path.endsWith('/claim'))
      return claimStatus === 200
        ? reply(200, { id: RID, payload: { verb: 'batches', values: {}, positionals: [], cwd: '' } })
        : reply(409, { state: 'running', frontend: 'other' });
    if (path.endsWith('/update')) return reply(200, { cancelled: false });
    return reply(200, { ttl: 45 });
  };
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/',
    fetch: fetch as never,
  });
  return { posts, settings };
}

function fakeKernel(id: string) {
  const targets: Record<string, (comm: Kernel.IComm, message: unknown) => Promise<void>> = {};
  const kernel = {
    id,
    isDisposed: false,
    registerCommTarget: (name: string, callback: never) => (targets[name] = callback),
    removeCommTarget: () => undefined,
  } as unknown as Kernel.IKernelConnection & { disposed: Signal<unknown, void> };
  (kernel as { disposed: Signal<unknown, void> }).disposed = new Signal(kernel);
  const open = (data: unknown) =>
    targets[COMM_TARGET]({ onClose: undefined } as unknown as Kernel.IComm, { content: { data } });
  return { kernel, open };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
};

describe('KernelRequests', () => {
  it('reports the kernels it listens to, and forgets a disposed one', async () => {
    const { posts, settings } = server();
    const requests = new KernelRequests({
      serverSettings: settings,
      run: async () => null,
      frontendId: 'page-1',
    });
    const { kernel } = fakeKernel('k1');
    requests.watchKernel(kernel);
    await until(() => posts.length > 0);
    expect(posts[0]).toEqual({ path: 'frontends', body: { frontend: 'page-1', kernels: ['k1'] } });
    (kernel as { isDisposed: boolean }).isDisposed = true;
    (kernel as unknown as { disposed: Signal<unknown, void> }).disposed.emit();
    await until(() => posts.length > 1);
    expect(posts[1].body).toEqual({ frontend: 'page-1', kernels: [] });
    requests.dispose();
  });

  it('claims a request, runs it once, and posts its progress then its result, in order', async () => {
    const { posts, settings } = server();
    const ran: KernelRequest[] = [];
    const requests = new KernelRequests({
      serverSettings: settings,
      frontendId: 'page-1',
      run: async (request, progress) => {
        ran.push(request);
        void progress({ stage: 'one' });
        void progress({ stage: 'two' });
        return [{ batchId: 'b' }];
      },
    });
    const { kernel, open } = fakeKernel('k1');
    requests.watchKernel(kernel);
    await open({ request: RID });
    expect(ran).toEqual([{ verb: 'batches', values: {}, positionals: [], cwd: '' }]);
    const relay = posts.filter((p) => p.path.startsWith('requests/'));
    expect(relay.map((p) => [p.path.replace(`${RID}/`, ''), p.body])).toEqual([
      ['requests/claim', { frontend: 'page-1' }],
      ['requests/update', { frontend: 'page-1', progress: { stage: 'one' } }],
      ['requests/update', { frontend: 'page-1', progress: { stage: 'two' } }],
      ['requests/update', { frontend: 'page-1', state: 'done', result: [{ batchId: 'b' }] }],
    ]);
    requests.dispose();
  });

  it('leaves a request another page claimed; reports a failure as the error the kernel shows', async () => {
    const taken = server(409);
    const run = jest.fn(async () => null);
    const requests = new KernelRequests({ serverSettings: taken.settings, run, frontendId: 'page-2' });
    const { kernel, open } = fakeKernel('k1');
    requests.watchKernel(kernel);
    await open({ request: RID });
    expect(run).not.toHaveBeenCalled();
    await open({ request: 'not-an-id' });
    expect(taken.posts.filter((p) => p.path.startsWith('requests/'))).toHaveLength(1);
    requests.dispose();

    const { posts, settings } = server();
    const failing = new KernelRequests({
      serverSettings: settings,
      frontendId: 'page-1',
      run: async () => {
        throw new UsageError('-r/--replicas N is required', 'submit');
      },
    });
    const second = fakeKernel('k2');
    failing.watchKernel(second.kernel);
    await second.open({ request: RID });
    expect(posts[posts.length - 1].body).toEqual({
      frontend: 'page-1',
      state: 'failed',
      error: { code: 'usage', verb: 'submit', message: '-r/--replicas N is required' },
    });
    failing.dispose();
  });
});
