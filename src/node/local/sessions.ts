import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { closeSync, openSync, promises as fsp, readFileSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';

import { GIB_IN_GB, HttpError, isoSeconds, type CreateRequest } from './protocol';
import { processAlive, processStartIdentity, writeFileAtomicSync, type StateLayout } from './state';
import type { LocalSessionType, SessionEventRecord, SessionRecord } from './types';

/** A headless job runs at most 14 days on CANFAR; renew extends it from now. */
const SESSION_LIFETIME_MS = 14 * 24 * 3600 * 1000;

/**
 * Every headless command runs under this small POSIX sh wrapper (the process group leader), which writes
 * the command's exit status to a file. The file outlives the server: a server that was killed and
 * restarted still learns how a session it did not see end finished. The wrapper traps TERM/INT/HUP with a
 * handler (not an ignore, which children would inherit) so that it outlives its command: a command that
 * handles SIGTERM gets to finish its cleanup, and its exit status is still recorded.
 */
const WRAPPER = `trap 'true' TERM INT HUP; f=$1; shift; "$@"; c=$?; echo "$c" > "$f.tmp" && mv "$f.tmp" "$f"; exit "$c"`;

/** How long a DELETE waits for the process to end before answering (it answers 200 either way). */
const DELETE_WAIT_MS = 2000;

const ID_FIRST = 'abcdefghijklmnopqrstuvwxyz';
const ID_REST = 'abcdefghijklmnopqrstuvwxyz0123456789';

export interface ManagerOptions {
  layout: StateLayout;
  capacityCores: number;
  capacityRamGB: number;
  ttlSeconds: number;
  home: string;
  user: string;
  killGraceMs: number;
  hostname: string;
  /** Run headless sessions in their image with this container CLI, instead of as plain processes. */
  container?: ContainerRuntime;
  /**
   * Injected preemption (faults preemptAfterSeconds / preemptRate): for a headless run that starts, when
   * to preempt it (ms after its start) and why, or undefined.
   */
  preemption?: (name: string, attempt: number, injectedSoFar: number) => PreemptionPlan | undefined;
  /** Preempt running headless sessions to make room for an interactive one (Kueue's priority). */
  preemptForInteractive: boolean;
  log: (line: string) => void;
}

export interface PreemptionPlan {
  delayMs: number;
  /** How long the session then stays Pending before it may be admitted again. */
  holdMs: number;
  /** Said in the Preempted event, e.g. "preemptAfterSeconds=2". */
  why: string;
}

export interface ContainerRuntime {
  /** 'docker' or 'podman' (same command line for what is used here). */
  runtime: 'docker' | 'podman';
  /** The executable; default: the runtime's name, looked up on the PATH. */
  command?: string;
}

type EndReason =
  { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null } | { kind: 'lost'; message: string };

/**
 * Owns the sessions: records (persisted one JSON file each), the queue over the capacity (admission by
 * quota, interactive before headless, FIFO within a priority, preemption), the processes and their logs,
 * the ttl of finished sessions, and recovery after a restart.
 */
export class SessionManager {
  readonly records = new Map<string, SessionRecord>();
  /** Ids waiting for admission, in admission order: priority, then queuedAt, then createdAt. */
  private readonly queue: string[] = [];
  /** Ids holding a reservation of cores and RAM (admitted and not yet released). */
  private readonly reserved = new Set<string>();
  private readonly preemptTimers = new Map<string, NodeJS.Timeout>();
  /** Wakes the queue when a held (requeued) session may be admitted. */
  private readonly holdTimers = new Map<string, NodeJS.Timeout>();
  private readonly children = new Map<string, ChildProcess>();
  /** Polls for processes adopted from a previous server (not our children: no exit event). */
  private readonly watchers = new Map<string, NodeJS.Timeout>();
  private readonly killTimers = new Map<string, NodeJS.Timeout>();
  private readonly ttlTimers = new Map<string, NodeJS.Timeout>();
  /** Sessions being deleted: when their process ends, the record goes. */
  private readonly deleting = new Set<string>();
  /** Sessions being ended by the server stopping. */
  private readonly stopping = new Set<string>();
  private readonly exitWaiters = new Map<string, (() => void)[]>();
  private usedCores = 0;
  private usedRamGB = 0;
  private sweepTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: ManagerOptions) {}

  get capacity(): { cores: number; ramGB: number; usedCores: number; usedRamGB: number } {
    return {
      cores: this.options.capacityCores,
      ramGB: this.options.capacityRamGB,
      usedCores: this.usedCores,
      usedRamGB: this.usedRamGB,
    };
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Loads the records of a previous run and settles each one; see recoverOne. */
  async load(): Promise<void> {
    let files: string[] = [];
    try {
      files = (await fsp.readdir(this.options.layout.sessions)).filter((f) => f.endsWith('.json'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const loaded: SessionRecord[] = [];
    for (const file of files) {
      const full = path.join(this.options.layout.sessions, file);
      try {
        loaded.push(JSON.parse(await fsp.readFile(full, 'utf8')) as SessionRecord);
      } catch (error) {
        // Atomic writes make this unlikely; keep the file aside for a human rather than delete it.
        this.options.log(`skipping unreadable session record ${full}: ${(error as Error).message}`);
        await fsp.rename(full, `${full}.unreadable`).catch(() => undefined);
      }
    }
    loaded.sort((a, b) => a.createdAt - b.createdAt);
    for (const record of loaded) this.records.set(record.id, record);
    for (const record of loaded) this.recoverOne(record);
    this.pump();
    this.sweepTimer = setInterval(() => this.sweepExpired(), 30_000);
    this.sweepTimer.unref();
  }

  /**
   * After a restart: queued sessions go back in the queue; a process of the previous server that still
   * runs (same pid AND same start identity) is adopted and watched; one that ended while the server was
   * down is settled from its exit-status file; one that is gone without a trace is Failed, with an event
   * saying so. Adopting rather than killing keeps hours of work alive across a server crash.
   */
  private recoverOne(record: SessionRecord): void {
    if (record.status === 'Completed' || record.status === 'Failed') {
      this.scheduleTtl(record);
      return;
    }
    if (record.type !== 'headless') {
      // Interactive sessions are records only: an admitted one holds its reservation again.
      if (record.scheduled) this.reserve(record);
      else this.enqueue(record);
      return;
    }
    if (record.status === 'Terminating') {
      if (record.pid !== undefined && processAlive(record.pid, record.pidStart))
        this.killGroup(record.pid, 'SIGKILL');
      void this.remove(record.id);
      return;
    }
    if (record.status === 'Pending' && !record.scheduled) {
      this.enqueue(record);
      return;
    }
    if (record.preempting) {
      // Preempted while the server was down or stopping: the requeue goes on once the process is gone.
      if (record.pid !== undefined && processAlive(record.pid, record.pidStart)) {
        this.reserve(record);
        this.watch(record);
        this.terminate(record);
      } else {
        this.requeue(record, false);
      }
      return;
    }
    const code = this.readExitFile(record.id);
    if (record.pid !== undefined && code === undefined && processAlive(record.pid, record.pidStart)) {
      this.reserve(record);
      this.addEvent(
        record,
        'Normal',
        'Adopted',
        `The local server restarted and found process ${record.pid} still running; it keeps watching it`,
      );
      void this.persist(record);
      this.watch(record);
      this.schedulePreemption(record, Date.now() - (Date.parse(record.startTime ?? '') || Date.now()));
      return;
    }
    if (code !== undefined) {
      this.addEvent(
        record,
        'Normal',
        'Recovered',
        `The process ended while the local server was down; its exit status was recorded`,
      );
      this.finish(record, { kind: 'exit', code, signal: null }, false);
      return;
    }
    const what =
      record.pid !== undefined ? `its process (pid ${record.pid}) is gone` : 'its process had not started';
    this.finish(
      record,
      {
        kind: 'lost',
        message: `The local server stopped abruptly (crash or kill -9) while this session was running; ${what} and its exit code is unknown`,
      },
      false,
    );
  }

  newId(): string {
    for (;;) {
      let id = ID_FIRST[randomInt(ID_FIRST.length)];
      for (let i = 0; i < 7; i += 1) id += ID_REST[randomInt(ID_REST.length)];
      if (!this.records.has(id)) return id;
    }
  }

  activeInteractive(user: string): number {
    let count = 0;
    for (const r of this.records.values()) {
      if (r.userid === user && r.type !== 'headless' && (r.status === 'Running' || r.status === 'Pending'))
        count += 1;
    }
    return count;
  }

  /** Records a new session (persisted before this resolves, so an answered create survives a crash). */
  async create(
    request: CreateRequest,
    user: string,
    connectURL: (id: string, type: LocalSessionType) => string,
  ): Promise<SessionRecord> {
    const id = this.newId();
    const now = Date.now();
    const record: SessionRecord = {
      id,
      userid: user,
      name: request.name,
      image: request.image,
      type: request.type,
      status: 'Pending',
      createdAt: now,
      queuedAt: now,
      connectURL: connectURL(id, request.type),
      fixed: request.fixed,
      // Flexible sessions hold their request (1 core / 4 GiB by default), as the cluster's scheduler does.
      reservedCores: request.cores,
      reservedRamGB: request.ramGiB * GIB_IN_GB,
      cores: request.cores,
      ramGiB: request.ramGiB,
      gpus: request.gpus,
      cmd: request.cmd,
      args: request.args,
      env: request.env,
      scheduled: false,
      events: [],
    };
    this.records.set(id, record);
    await this.persist(record);
    this.options.log(`created ${record.type} session ${id} (${record.name})`);
    if (!this.couldEverFit(record)) {
      this.options.log(
        `session ${id} asks for ${record.reservedCores} cores and ${record.reservedRamGB.toFixed(2)} GB, more than ` +
          `this server's capacity (${this.options.capacityCores} cores, ${this.options.capacityRamGB} GB): it stays ` +
          `Pending, as a request beyond the cluster's quota does; restart the server with a larger --cores/--ram`,
      );
    }
    this.enqueue(record);
    this.pump();
    return record;
  }

  /** 0 for interactive kinds (Kueue priority high), 1 for headless (low). */
  private static priority(record: SessionRecord): number {
    return record.type === 'headless' ? 1 : 0;
  }

  private static before(a: SessionRecord, b: SessionRecord): boolean {
    const pa = SessionManager.priority(a);
    const pb = SessionManager.priority(b);
    if (pa !== pb) return pa < pb;
    const qa = a.queuedAt ?? a.createdAt;
    const qb = b.queuedAt ?? b.createdAt;
    return qa !== qb ? qa < qb : a.createdAt < b.createdAt;
  }

  /** Puts a Pending session in the queue at its place (usually the end of its priority). */
  private enqueue(record: SessionRecord): void {
    if (this.queue.includes(record.id)) return;
    const hold = (record.notBefore ?? 0) - Date.now();
    if (hold > 0) {
      const timer = setTimeout(() => {
        this.holdTimers.delete(record.id);
        this.pump();
      }, hold + 5);
      timer.unref();
      this.holdTimers.set(record.id, timer);
    }
    let at = this.queue.length;
    while (at > 0) {
      const other = this.records.get(this.queue[at - 1]);
      if (!other || !SessionManager.before(record, other)) break;
      at -= 1;
    }
    this.queue.splice(at, 0, record.id);
  }

  private couldEverFit(record: SessionRecord): boolean {
    return (
      record.reservedCores <= this.options.capacityCores + 1e-9 &&
      record.reservedRamGB <= this.options.capacityRamGB + 1e-9
    );
  }

  private fitsNow(record: SessionRecord): boolean {
    return (
      this.usedCores + record.reservedCores <= this.options.capacityCores + 1e-9 &&
      this.usedRamGB + record.reservedRamGB <= this.options.capacityRamGB + 1e-9
    );
  }

  /**
   * Admits queued sessions in order while the head fits, like a Kueue StrictFIFO queue: interactive
   * sessions first, then headless, each in the order they (re)entered the queue; a head that does not fit
   * yet blocks those behind it. A session larger than the whole capacity could never be admitted: it
   * stays Pending without blocking the others. An interactive head that does not fit preempts running
   * headless sessions when that makes room (preemptForInteractive).
   */
  private pump(): void {
    let at = 0;
    while (!this.closed && at < this.queue.length) {
      const record = this.records.get(this.queue[at]);
      if (!record || record.status !== 'Pending' || record.scheduled) {
        this.queue.splice(at, 1);
        continue;
      }
      // Too large for the whole capacity, or held after a preemption: skipped, without blocking the others.
      if (!this.couldEverFit(record) || (record.notBefore ?? 0) > Date.now()) {
        at += 1;
        continue;
      }
      if (!this.fitsNow(record)) {
        if (record.type !== 'headless' && this.options.preemptForInteractive) this.makeRoomFor(record);
        return;
      }
      this.queue.splice(at, 1);
      if (record.type === 'headless') this.start(record);
      else this.admitInteractive(record);
    }
  }

  /**
   * Preempts running headless sessions, most recently started first (Kueue's choice among equal
   * priorities), until the interactive `head` would fit once they end; nothing when even all of them
   * would not make room, or when sessions already on their way out will.
   */
  private makeRoomFor(head: SessionRecord): void {
    let cores = this.options.capacityCores - this.usedCores;
    let ram = this.options.capacityRamGB - this.usedRamGB;
    const candidates: SessionRecord[] = [];
    for (const id of this.reserved) {
      const r = this.records.get(id);
      if (!r || r.type !== 'headless') continue;
      if (r.preempting || r.status === 'Terminating' || this.deleting.has(id) || this.stopping.has(id)) {
        cores += r.reservedCores;
        ram += r.reservedRamGB;
      } else if (r.status === 'Running' && r.pid !== undefined) {
        candidates.push(r);
      }
    }
    const enough = () => cores + 1e-9 >= head.reservedCores && ram + 1e-9 >= head.reservedRamGB;
    if (enough()) return;
    const started = (r: SessionRecord) => Date.parse(r.startTime ?? '') || 0;
    candidates.sort((a, b) => started(b) - started(a) || b.createdAt - a.createdAt);
    const victims: SessionRecord[] = [];
    for (const r of candidates) {
      if (enough()) break;
      victims.push(r);
      cores += r.reservedCores;
      ram += r.reservedRamGB;
    }
    if (!enough()) return;
    for (const victim of victims) {
      this.preempt(
        victim,
        `to make room for ${head.type} session ${head.id} (interactive sessions have priority over headless jobs)`,
        false,
      );
    }
  }

  private admitInteractive(record: SessionRecord): void {
    this.reserve(record);
    const now = Date.now();
    record.scheduled = true;
    record.status = 'Running';
    record.starts = (record.starts ?? 0) + 1;
    record.startTime = isoSeconds(now);
    record.expiryTime = isoSeconds(now + SESSION_LIFETIME_MS);
    this.addEvent(
      record,
      'Normal',
      'Scheduled',
      `Recorded by the local server; interactive sessions run no process locally`,
    );
    void this.persist(record);
  }

  private reserve(record: SessionRecord): void {
    if (this.reserved.has(record.id)) return;
    this.reserved.add(record.id);
    this.usedCores += record.reservedCores;
    this.usedRamGB += record.reservedRamGB;
  }

  private release(record: SessionRecord): void {
    if (!this.reserved.delete(record.id)) return;
    this.usedCores = Math.max(0, this.usedCores - record.reservedCores);
    this.usedRamGB = Math.max(0, this.usedRamGB - record.reservedRamGB);
  }

  /**
   * Preemption: SIGTERM to the process group (SIGKILL after the grace period, as Kubernetes does); when
   * the process is gone the session is requeued (see requeue), not finished. `injected` counts it against
   * the fault's cap.
   */
  private preempt(record: SessionRecord, why: string, injected: boolean, holdMs = 0): void {
    const id = record.id;
    if (record.preempting || record.status !== 'Running' || record.pid === undefined) return;
    if (this.deleting.has(id) || this.stopping.has(id) || this.closed) return;
    this.clearPreemptTimer(id);
    record.preempting = true;
    if (holdMs > 0) record.holdMs = holdMs;
    if (injected) record.injectedPreemptions = (record.injectedPreemptions ?? 0) + 1;
    this.addEvent(
      record,
      'Warning',
      'Preempted',
      `Preempted ${why}: SIGTERM to process group ${record.pid} (SIGKILL after ${this.options.killGraceMs / 1000} s); ` +
        'the session goes back to the queue and its command runs again from the start',
    );
    void this.persist(record);
    this.options.log(`session ${id} preempted ${why}`);
    this.terminate(record);
  }

  /** A preemption asked for by the embedding program (LocalServer.preempt); false if not applicable. */
  preemptNow(id: string, holdMs: number): boolean {
    const record = this.records.get(id);
    if (!record || record.type !== 'headless' || record.status !== 'Running' || record.preempting)
      return false;
    if (record.pid === undefined || this.deleting.has(id) || this.stopping.has(id) || this.closed)
      return false;
    this.preempt(record, 'on request (LocalServer.preempt)', false, holdMs);
    return true;
  }

  /** Arms the injected preemption of a run that started `elapsedMs` ago, if the faults say so. */
  private schedulePreemption(record: SessionRecord, elapsedMs = 0): void {
    const plan = this.options.preemption?.(record.name, record.starts ?? 1, record.injectedPreemptions ?? 0);
    if (!plan || record.type !== 'headless') return;
    this.clearPreemptTimer(record.id);
    const timer = setTimeout(
      () => {
        this.preemptTimers.delete(record.id);
        this.preempt(record, `by the local server's fault injection (${plan.why})`, true, plan.holdMs);
      },
      Math.max(0, plan.delayMs - elapsedMs),
    );
    timer.unref();
    this.preemptTimers.set(record.id, timer);
  }

  private clearPreemptTimer(id: string): void {
    const timer = this.preemptTimers.get(id);
    if (timer) clearTimeout(timer);
    this.preemptTimers.delete(id);
  }

  /**
   * The end of a preempted run: the session is Pending again, with no startTime, no pod (events 404, logs
   * empty), back in the queue as of now; when admitted again its command runs from the start (same id).
   */
  private requeue(record: SessionRecord, pump = true): void {
    this.release(record);
    this.clearPreemptTimer(record.id);
    const killTimer = this.killTimers.get(record.id);
    if (killTimer) clearTimeout(killTimer);
    this.killTimers.delete(record.id);
    const waiters = this.exitWaiters.get(record.id) ?? [];
    this.exitWaiters.delete(record.id);
    for (const wake of waiters) wake();
    record.status = 'Pending';
    record.scheduled = false;
    record.preempting = false;
    record.preemptions = (record.preemptions ?? 0) + 1;
    record.queuedAt = Date.now();
    if (record.holdMs) record.notBefore = record.queuedAt + record.holdMs;
    delete record.holdMs;
    delete record.startTime;
    delete record.expiryTime;
    delete record.pid;
    delete record.pidStart;
    delete record.exitCode;
    for (const file of [this.exitFile(record.id), this.logFile(record.id)]) {
      try {
        unlinkSync(file);
      } catch {
        // Not there.
      }
    }
    void this.persist(record);
    this.options.log(`session ${record.id} requeued after preemption ${record.preemptions}`);
    this.enqueue(record);
    if (pump) this.pump();
  }

  /** A process ended: a preempted session goes back to the queue, any other one is finished. */
  private ended(record: SessionRecord, reason: EndReason): void {
    const id = record.id;
    if (record.preempting && !this.deleting.has(id) && !this.stopping.has(id) && !this.closed) {
      this.requeue(record);
      return;
    }
    this.finish(record, reason);
  }

  private logFile(id: string): string {
    return path.join(this.options.layout.logs, `${id}.log`);
  }

  private exitFile(id: string): string {
    return path.join(this.options.layout.logs, `${id}.exit`);
  }

  private readExitFile(id: string): number | undefined {
    try {
      const text = readFileSync(this.exitFile(id), 'utf8').trim();
      return /^\d+$/.test(text) ? Number(text) : undefined;
    } catch {
      return undefined;
    }
  }

  private start(record: SessionRecord): void {
    delete record.notBefore;
    this.reserve(record);
    record.scheduled = true;
    record.starts = (record.starts ?? 0) + 1;
    const o = this.options;
    this.addEvent(
      record,
      'Normal',
      'Scheduled',
      `Successfully assigned ${record.id} to ${o.hostname} (local ${o.container ? o.container.runtime : 'process'} mode)`,
    );
    const container = o.container;
    if (container) {
      this.addEvent(
        record,
        'Normal',
        'Pulling',
        `Running image "${record.image}" with ${container.runtime} (pulled if missing)`,
      );
    } else {
      this.addEvent(
        record,
        'Normal',
        'ImageNotUsed',
        `Image "${record.image}" is recorded only: the local server runs the command as a process on this machine`,
      );
      if (record.cmd === undefined || record.cmd === '') {
        this.finish(record, {
          kind: 'lost',
          message:
            "No cmd given: the session would run the image's entrypoint, and the local server does not run images in process mode. Send cmd (and args), or start it with a container runtime",
        });
        return;
      }
    }
    if (record.gpus > 0) {
      this.addEvent(
        record,
        'Normal',
        'GPUsNotProvided',
        `${record.gpus} GPU(s) requested: recorded only, the local server hands out no GPU`,
      );
    }
    const sessionEnv: Record<string, string> = {
      ...record.env,
      skaha_hostname: o.hostname,
      skaha_username: record.userid,
      skaha_sessionid: record.id,
      HOME: o.home,
      PWD: o.home,
      OMP_NUM_THREADS: String(record.fixed ? Math.max(1, Math.floor(record.cores)) : 1),
    };
    // In process mode the command gets the session environment plus the server's PATH; in container mode
    // the container CLI runs with the server's environment (DOCKER_HOST, XDG_RUNTIME_DIR...) and hands
    // the session environment to the container.
    const env = container
      ? { ...process.env }
      : { ...(process.env.PATH ? { PATH: process.env.PATH } : {}), ...sessionEnv };
    const argv = container
      ? containerArgv(container, record, sessionEnv, o.home)
      : [record.cmd!, ...record.args];
    let fd: number | undefined;
    let child: ChildProcess;
    try {
      // A new pod has a new log: a run after a preemption starts from an empty one.
      fd = openSync(this.logFile(record.id), 'w', 0o600);
      child = spawn('/bin/sh', ['-c', WRAPPER, 'canfar-local', this.exitFile(record.id), ...argv], {
        cwd: o.home,
        env,
        detached: true,
        stdio: ['ignore', fd, fd],
      });
    } catch (error) {
      this.finish(record, {
        kind: 'lost',
        message: `Could not start the process: ${(error as Error).message}`,
      });
      return;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    this.children.set(record.id, child);
    child.once('error', (error) => {
      this.children.delete(record.id);
      if (record.status === 'Pending' || record.status === 'Running') {
        this.finish(record, {
          kind: 'lost',
          message: `Could not start the process in ${o.home}: ${error.message}`,
        });
      }
    });
    child.once('exit', (code, signal) => {
      this.children.delete(record.id);
      // As in a container, the session ends with its main process: whatever it left running goes too.
      this.killGroup(child.pid!, 'SIGKILL');
      this.removeContainer(record.id);
      this.ended(record, { kind: 'exit', code, signal });
    });
    if (child.pid !== undefined) {
      record.pid = child.pid;
      record.pidStart = processStartIdentity(child.pid);
      record.status = 'Running';
      const now = Date.now();
      record.startTime = isoSeconds(now);
      record.expiryTime = isoSeconds(now + SESSION_LIFETIME_MS);
      const commandLine = argv.join(' ');
      this.addEvent(record, 'Normal', 'Started', `Started process ${child.pid}: ${commandLine}`);
      void this.persist(record);
      this.schedulePreemption(record);
    }
  }

  /** Polls an adopted process until it is gone, then settles it from its exit-status file. */
  private watch(record: SessionRecord): void {
    const timer = setInterval(() => {
      if (record.pid !== undefined && processAlive(record.pid, record.pidStart)) return;
      clearInterval(timer);
      this.watchers.delete(record.id);
      if (record.pid !== undefined) this.killGroup(record.pid, 'SIGKILL');
      this.removeContainer(record.id);
      const code = this.readExitFile(record.id);
      if (code !== undefined) this.ended(record, { kind: 'exit', code, signal: null });
      else if (this.deleting.has(record.id) || this.stopping.has(record.id) || record.preempting)
        this.ended(record, { kind: 'exit', code: null, signal: 'SIGTERM' });
      else
        this.finish(record, {
          kind: 'lost',
          message: `Process ${record.pid} ended without recording an exit status`,
        });
    }, 200);
    this.watchers.set(record.id, timer);
  }

  private finish(record: SessionRecord, reason: EndReason, releaseReservation = true): void {
    if (record.status === 'Completed' || record.status === 'Failed') return;
    const wasScheduled = record.scheduled;
    if (releaseReservation) this.release(record);
    this.clearPreemptTimer(record.id);
    record.preempting = false;
    const killTimer = this.killTimers.get(record.id);
    if (killTimer) clearTimeout(killTimer);
    this.killTimers.delete(record.id);
    const waiters = this.exitWaiters.get(record.id) ?? [];
    this.exitWaiters.delete(record.id);
    for (const wake of waiters) wake();
    if (this.deleting.has(record.id)) {
      this.deleting.delete(record.id);
      void this.remove(record.id);
      this.pump();
      return;
    }
    record.endedAt = Date.now();
    if (reason.kind === 'lost') {
      record.status = 'Failed';
      this.addEvent(record, 'Warning', 'Failed', reason.message);
    } else if (this.stopping.has(record.id)) {
      record.status = 'Failed';
      this.addEvent(record, 'Warning', 'Killed', 'Ended because the local server stopped (Ctrl-C or close)');
    } else if (reason.code === 0) {
      record.status = 'Completed';
      record.exitCode = 0;
      this.addEvent(record, 'Normal', 'Completed', 'Process exited with exit code 0');
    } else {
      record.status = 'Failed';
      // A signal seen by Node means the wrapper itself was killed; report it as a container runtime would.
      const code = reason.code ?? 128 + signalNumber(reason.signal);
      record.exitCode = code;
      this.addEvent(
        record,
        'Warning',
        'Failed',
        `Process exited with exit code ${code}${exitHint(code, reason.signal)}`,
      );
    }
    if (record.startTime === undefined && wasScheduled) record.startTime = isoSeconds(record.endedAt);
    void this.persist(record);
    this.scheduleTtl(record);
    this.options.log(`session ${record.id} ${record.status}`);
    this.pump();
  }

  private scheduleTtl(record: SessionRecord): void {
    const endedAt = record.endedAt ?? Date.now();
    const delay = Math.max(0, endedAt + this.options.ttlSeconds * 1000 - Date.now());
    const timer = setTimeout(() => {
      this.ttlTimers.delete(record.id);
      this.options.log(`session ${record.id} removed after ttl`);
      void this.remove(record.id);
    }, delay);
    timer.unref();
    this.ttlTimers.set(record.id, timer);
  }

  /** Ends sessions past their expiry time, as the platform's activeDeadlineSeconds does. */
  private sweepExpired(): void {
    const now = Date.now();
    for (const record of [...this.records.values()]) {
      // An interactive session past its expiry is gone on the platform (its job hit the deadline).
      if (record.type !== 'headless' && record.expiryTime && Date.parse(record.expiryTime) < now) {
        void this.remove(record.id);
        continue;
      }
      if (
        record.status === 'Running' &&
        record.type === 'headless' &&
        record.expiryTime &&
        Date.parse(record.expiryTime) < now &&
        record.pid
      ) {
        this.addEvent(
          record,
          'Warning',
          'DeadlineExceeded',
          'The session passed its expiry time and was stopped',
        );
        this.terminate(record);
      }
    }
    this.pump();
  }

  private addEvent(
    record: SessionRecord,
    type: SessionEventRecord['type'],
    reason: string,
    message: string,
  ): void {
    const time = isoSeconds(Date.now());
    record.events.push({ type, reason, message, firstTime: time, lastTime: time });
  }

  /**
   * Writes one record (temp file + rename). Synchronous on purpose: records are small, the writes of one
   * record can never land out of order, and it measured faster under load than queueing thousands of
   * small writes on libuv's 4-thread pool (see bench/local-server.ts).
   */
  private persist(record: SessionRecord): Promise<void> {
    if (!this.records.has(record.id)) return Promise.resolve();
    try {
      writeFileAtomicSync(
        path.join(this.options.layout.sessions, `${record.id}.json`),
        JSON.stringify(record),
      );
    } catch (error) {
      this.options.log(`could not save session ${record.id}: ${(error as Error).message}`);
    }
    return Promise.resolve();
  }

  private async remove(id: string): Promise<void> {
    const record = this.records.get(id);
    if (record) this.release(record);
    this.clearPreemptTimer(id);
    const hold = this.holdTimers.get(id);
    if (hold) clearTimeout(hold);
    this.holdTimers.delete(id);
    const queued = this.queue.indexOf(id);
    if (queued >= 0) this.queue.splice(queued, 1);
    this.records.delete(id);
    const ttl = this.ttlTimers.get(id);
    if (ttl) clearTimeout(ttl);
    this.ttlTimers.delete(id);
    for (const file of [
      path.join(this.options.layout.sessions, `${id}.json`),
      this.logFile(id),
      this.exitFile(id),
    ]) {
      await fsp.unlink(file).catch(() => undefined);
    }
  }

  /** `docker rm -f canfar-<id>`, fire and forget: the container is gone or going either way. */
  private removeContainer(id: string): void {
    const container = this.options.container;
    if (!container) return;
    const child = spawn(container.command ?? container.runtime, ['rm', '-f', containerName(id)], {
      stdio: 'ignore',
    });
    child.on('error', () => undefined);
  }

  private killGroup(pid: number, signal: NodeJS.Signals): void {
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  }

  /** SIGTERM to the process group, SIGKILL after the grace period. */
  private terminate(record: SessionRecord): void {
    if (record.pid === undefined) return;
    const pid = record.pid;
    this.killGroup(pid, 'SIGTERM');
    if (!this.killTimers.has(record.id)) {
      const timer = setTimeout(() => {
        this.killGroup(pid, 'SIGKILL');
        // Killing the container CLI does not stop the container: remove it as well.
        this.removeContainer(record.id);
      }, this.options.killGraceMs);
      this.killTimers.set(record.id, timer);
    }
  }

  /** Resolves when the session's process has ended and the record is settled. */
  private exited(id: string): Promise<void> {
    return new Promise<void>((resolve) =>
      this.exitWaiters.set(id, [...(this.exitWaiters.get(id) ?? []), resolve]),
    );
  }

  /** DELETE: always succeeds; a running process is ended (Terminating meanwhile), then the record goes. */
  async delete(id: string): Promise<void> {
    const record = this.records.get(id);
    if (!record) return;
    if (record.status === 'Terminating') return;
    const running =
      record.status === 'Running' &&
      record.pid !== undefined &&
      (this.children.has(id) || this.watchers.has(id));
    if (!running) {
      const index = this.queue.indexOf(id);
      if (index >= 0) this.queue.splice(index, 1);
      await this.remove(id);
      this.pump();
      return;
    }
    record.status = 'Terminating';
    this.deleting.add(id);
    this.addEvent(
      record,
      'Normal',
      'Killing',
      `Stopping process group ${record.pid} (SIGTERM, SIGKILL after ${this.options.killGraceMs / 1000} s)`,
    );
    await this.persist(record);
    const gone = this.exited(id);
    this.terminate(record);
    // Answer once the process is gone if that is quick (the usual case), so a list right after a DELETE
    // no longer shows the session; a process that ignores SIGTERM stays visible as Terminating meanwhile.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([gone, new Promise<void>((resolve) => (timer = setTimeout(resolve, DELETE_WAIT_MS)))]);
    clearTimeout(timer);
  }

  /** action=renew: extends the expiry of a running session; 400 otherwise, as the service does. */
  async renew(id: string, user: string): Promise<void> {
    const record = this.records.get(id);
    if (!record || record.status !== 'Running')
      throw new HttpError(400, `No active job for user ${user} with session ${id}`);
    record.expiryTime = isoSeconds(Date.now() + SESSION_LIFETIME_MS);
    await this.persist(record);
  }

  /** The current run's log; empty while there is no pod (queued, or requeued after a preemption). */
  async readLog(id: string): Promise<string> {
    if (!this.records.get(id)?.scheduled) return '';
    try {
      return await fsp.readFile(this.logFile(id), 'utf8');
    } catch {
      return '';
    }
  }

  /** Stops everything this server runs: running sessions are ended and recorded as Failed (Killed). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const timer of [...this.preemptTimers.values(), ...this.holdTimers.values()]) clearTimeout(timer);
    this.preemptTimers.clear();
    this.holdTimers.clear();
    for (const timer of this.ttlTimers.values()) clearTimeout(timer);
    this.ttlTimers.clear();
    const waits: Promise<void>[] = [];
    for (const id of this.queue.splice(0)) {
      const record = this.records.get(id);
      if (record && record.status === 'Pending') {
        this.finish(record, {
          kind: 'lost',
          message: 'The local server stopped before this session started',
        });
      }
    }
    for (const record of this.records.values()) {
      const active =
        (record.status === 'Running' || record.status === 'Terminating') && record.pid !== undefined;
      if (!active || !(this.children.has(record.id) || this.watchers.has(record.id))) continue;
      if (record.status === 'Running') this.stopping.add(record.id);
      waits.push(this.exited(record.id));
      this.terminate(record);
    }
    await Promise.all(waits);
    for (const timer of this.watchers.values()) clearInterval(timer);
    for (const timer of this.killTimers.values()) clearTimeout(timer);
  }
}

const containerName = (id: string): string => `canfar-${id}`;

/**
 * `docker run` for a headless session, mirroring the platform's pod: the home directory mounted at the
 * same path and used as working directory, the caller's uid:gid, the session environment, the fixed
 * resources as limits, `cmd` as the entrypoint (which also clears the image's CMD, as a pod's `command`
 * does) and `args` after the image. `--init` reaps and forwards signals as the pod's runtime would.
 */
export function containerArgv(
  container: ContainerRuntime,
  record: SessionRecord,
  env: Record<string, string>,
  home: string,
): string[] {
  const argv = [
    container.command ?? container.runtime,
    'run',
    '--rm',
    '--init',
    '--name',
    containerName(record.id),
  ];
  argv.push('--label', `canfar-session=${record.id}`, '-v', `${home}:${home}`, '-w', home);
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  if (uid !== undefined && gid !== undefined) argv.push('--user', `${uid}:${gid}`);
  for (const [key, value] of Object.entries(env)) argv.push('-e', `${key}=${value}`);
  if (record.fixed)
    argv.push('--cpus', String(record.cores), '--memory', `${Math.round(record.ramGiB * 1024)}m`);
  if (record.cmd) argv.push('--entrypoint', record.cmd);
  argv.push(record.image, ...record.args);
  return argv;
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGABRT: 6,
    SIGKILL: 9,
    SIGSEGV: 11,
    SIGPIPE: 13,
    SIGTERM: 15,
  };
  return (signal && numbers[signal]) || 0;
}

function exitHint(code: number, signal: NodeJS.Signals | null): string {
  if (code === 127) return ' (command not found: is cmd on the PATH of the local server?)';
  if (code === 126) return ' (command not executable)';
  if (signal) return ` (killed by ${signal})`;
  if (code > 128 && code < 160) return ` (killed by signal ${code - 128})`;
  return '';
}
