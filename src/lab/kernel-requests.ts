/**
 * The extension's end of the Python `%canfar` magic's route inside JupyterLab (the kernel's end:
 * jupyterlab_canfar/kernel/lab.py, the relay in between: jupyterlab_canfar/relay.py).
 *
 * A running cell cannot wait for a comm reply (ipykernel reads the shell channel only between cells), so:
 * the kernel registers its request with the server half and opens a comm to tell us; we claim it there
 * (the first page to claim runs it: a notebook open in two tabs runs it once), run it with KernelVerbs,
 * and post progress and the result back to the server half, where the kernel reads them over HTTP.
 *
 * So that the kernel knows, within the cell, that this route exists, every page reports to the server
 * half which kernels it listens to (the comm target is registered on them), every HEARTBEAT_MS, and says
 * goodbye when it is closed.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';
import { errorJson } from './kernel-verbs';
import type { KernelRequest, ReportProgress } from './kernel-verbs';

/** The comm target the kernel opens (jupyterlab_canfar/kernel/lab.py COMM_TARGET). */
export const COMM_TARGET = 'jupyterlab-canfar';
const RELAY = 'canfar/api/kernel';
/** Well inside the server half's FRONTEND_TTL (relay.py), also for a background tab's slowed timers. */
export const HEARTBEAT_MS = 20_000;

export interface KernelRequestsOptions {
  serverSettings: ServerConnection.ISettings;
  /** Runs a claimed request (KernelVerbs.run). */
  run: (request: KernelRequest, progress: ReportProgress, signal: AbortSignal) => Promise<unknown>;
  /** This page's id in the server half (default: random). */
  frontendId?: string;
  heartbeatMs?: number;
}

export class KernelRequests implements IDisposable {
  readonly frontendId: string;

  constructor(private readonly options: KernelRequestsOptions) {
    this.frontendId =
      options.frontendId ?? `page-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    this._timer = setInterval(() => void this.heartbeat(), options.heartbeatMs ?? HEARTBEAT_MS);
    this._goodbye = () => void this._post('frontends', { frontend: this.frontendId, kernels: [] }, true);
    window.addEventListener('pagehide', this._goodbye);
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** The kernels this page listens to (their connections are alive and carry the comm target). */
  get kernelIds(): string[] {
    return [...new Set([...this._kernels].filter((k) => !k.isDisposed).map((k) => k.id))];
  }

  /** Listens for the magic's requests on this kernel connection, and tells the server half at once. */
  watchKernel(kernel: Kernel.IKernelConnection): void {
    if (this._disposed || this._kernels.has(kernel)) return;
    this._kernels.add(kernel);
    const target = (comm: Kernel.IComm, message: KernelMessage.ICommOpenMsg) => this._onOpen(comm, message);
    this._targets.set(kernel, target);
    kernel.registerCommTarget(COMM_TARGET, target);
    kernel.disposed.connect(() => {
      this._kernels.delete(kernel);
      void this.heartbeat();
    });
    void this.heartbeat();
  }

  /** Reports this page's kernels to the server half (also every HEARTBEAT_MS). */
  async heartbeat(): Promise<void> {
    if (this._disposed) return;
    // The answer is read to its end, as every response should be (an unread body holds the connection).
    await this._post('frontends', { frontend: this.frontendId, kernels: this.kernelIds })
      .then((response) => response.text())
      .catch(() => undefined);
  }

  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    clearInterval(this._timer);
    window.removeEventListener('pagehide', this._goodbye);
    for (const kernel of this._kernels)
      if (!kernel.isDisposed) kernel.removeCommTarget(COMM_TARGET, () => undefined);
    this._kernels.clear();
    this._goodbye();
  }

  private async _onOpen(comm: Kernel.IComm, message: KernelMessage.ICommOpenMsg): Promise<void> {
    const id = (message.content.data as { request?: unknown }).request;
    // The kernel closes the comm itself: it is a one-way notification.
    comm.onClose = () => undefined;
    if (typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id)) return;
    const claim = await this._post(`requests/${id}/claim`, { frontend: this.frontendId }).catch(
      () => undefined,
    );
    if (!claim || claim.status !== 200) return; // another page took it, or the kernel gave up
    const { payload } = (await claim.json()) as { payload: KernelRequest };
    const controller = new AbortController();
    // Updates go one after the other: a late progress must never overwrite a later one.
    let queue: Promise<unknown> = Promise.resolve();
    const send = (body: Record<string, unknown>) => {
      const sent = queue.then(() => this._update(id, body));
      queue = sent.catch(() => undefined);
      return sent;
    };
    const progress: ReportProgress = async (value) => {
      const answer = await send({ progress: value });
      if (answer.cancelled) controller.abort(new Error('the kernel stopped waiting (interrupted)'));
      return answer;
    };
    try {
      const result = await this.options.run(payload, progress, controller.signal);
      await send({ state: 'done', result: result ?? null });
    } catch (error) {
      await send({ state: 'failed', error: errorJson(error, payload.verb) });
    }
  }

  private async _update(id: string, body: Record<string, unknown>): Promise<{ cancelled: boolean }> {
    const answer = await this._post(`requests/${id}/update`, { frontend: this.frontendId, ...body }).catch(
      () => undefined,
    );
    if (!answer || answer.status !== 200) return { cancelled: true };
    return (await answer.json()) as { cancelled: boolean };
  }

  private _post(path: string, body: unknown, keepalive = false): Promise<Response> {
    const settings = this.options.serverSettings;
    return ServerConnection.makeRequest(
      URLExt.join(settings.baseUrl, RELAY, path),
      {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'Content-Type': 'application/json' },
        // A page being closed still says goodbye.
        ...(keepalive ? { keepalive: true } : {}),
      },
      settings,
    );
  }

  private _kernels = new Set<Kernel.IKernelConnection>();
  private _targets = new WeakMap<
    Kernel.IKernelConnection,
    (comm: Kernel.IComm, message: KernelMessage.ICommOpenMsg) => Promise<void>
  >();
  private _timer: ReturnType<typeof setInterval>;
  private _goodbye: () => void;
  private _disposed = false;
}
