import {
  batchEta,
  batchFailures,
  batchGroupOf,
  formatDuration,
  formatResources,
  groupSessions,
  isFinished,
  isSettled,
  kindCounts,
  queueCounts,
  summarize,
  sweptParameters,
} from './grouping';
import type { BatchSummary } from './tokens';
import { session } from './testing.test';

describe('groupSessions', () => {
  it('groups headless replicas by name prefix and counts k/N per status', () => {
    const sessions = [
      session({ name: 'sweep-1', status: 'Completed' }),
      session({ name: 'sweep-2', status: 'Running' }),
      session({ name: 'sweep-3', status: 'Failed' }),
      session({ name: 'sweep-4', status: 'Running' }),
      session({ name: 'lab', type: 'notebook', status: 'Running' }),
      session({ name: 'fit-1', status: 'Pending', startTime: undefined }),
    ];
    const { batches, others } = groupSessions(sessions);
    expect(others.map((s) => s.name)).toEqual(['lab']);
    const sweep = batches.find((b) => b.name === 'sweep');
    expect(sweep?.total).toBe(4);
    expect(sweep?.counts).toEqual({ Completed: 1, Running: 2, Failed: 1 });
    expect(summarize(sweep!)).toBe('1/4 Failed · 2/4 Running · 1/4 Completed');
    expect(sweep?.replicas.map((r) => r.index)).toEqual([1, 2, 3, 4]);
    expect(batches.find((b) => b.name === 'fit')?.counts).toEqual({ Pending: 1 });
  });

  it('takes N from the largest replica index when replicas are missing (cleaned up)', () => {
    const { batches } = groupSessions([
      session({ name: 'run-2' }),
      session({ name: 'run-7', status: 'Completed' }),
    ]);
    expect(batches[0].total).toBe(7);
    expect(summarize(batches[0])).toBe('1/7 Running · 1/7 Completed');
  });

  it('uses the batch records first: session ids, N, exit codes, and cleaned-up replicas', () => {
    const a = session({ name: 'sweep-1', status: 'Completed' });
    const b = session({ name: 'sweep-2', status: 'Running' });
    // Same prefix, another run: must not be merged into the recorded batch.
    const stranger = session({ name: 'sweep-1', status: 'Running' });
    const { batches } = groupSessions(
      [a, b, stranger],
      [
        {
          id: '20260721-180000-abcd',
          name: 'sweep',
          total: 4,
          replicas: [
            { index: 1, name: 'sweep-1', sessionId: a.id, exitCode: 0 },
            { index: 2, name: 'sweep-2', sessionId: b.id },
            {
              index: 3,
              name: 'sweep-3',
              sessionId: 'gone0001',
              status: 'Failed',
              exitCode: 2,
              cleanedUp: true,
              start: '2026-07-21T18:00:00Z',
              end: '2026-07-21T18:05:00Z',
            },
            { index: 4, name: 'sweep-4', status: 'Cancelled', message: 'submission stopped' },
          ],
        },
      ],
    );
    const recorded = batches.find((g) => g.key === '20260721-180000-abcd')!;
    expect(recorded.total).toBe(4);
    expect(recorded.counts).toEqual({ Completed: 1, Running: 1, Failed: 1, Cancelled: 1 });
    expect(summarize(recorded)).toBe('1/4 Failed · 1/4 Running · 1/4 Completed · 1/4 Cancelled');
    expect(recorded.replicas[2]).toMatchObject({
      name: 'sweep-3',
      status: 'Failed',
      exitCode: 2,
      cleanedUp: true,
    });
    expect(recorded.replicas[0].exitCode).toBe(0);
    const byName = batches.find((g) => g.key === 'name:sweep')!;
    expect(byName.replicas.map((r) => r.session?.id)).toEqual([stranger.id]);
  });

  it('shows no deleted batch, and does not regroup its still-listed sessions by name', () => {
    const a = session({ name: 'sweep-1', status: 'Terminating' });
    const b = session({ name: 'sweep-2', status: 'Completed' });
    const later = session({ name: 'sweep-1', status: 'Running' });
    const { batches, others } = groupSessions(
      [a, b, later],
      [
        {
          id: '20260721-180000-abcd',
          name: 'sweep',
          total: 3,
          deletedAt: '2026-07-21T19:00:00Z',
          replicas: [
            { index: 1, name: 'sweep-1', sessionId: a.id },
            { index: 2, name: 'sweep-2', sessionId: b.id },
            { index: 3, name: 'sweep-3' },
          ],
        },
      ],
    );
    expect(others).toEqual([]);
    // Only the session that is not the deleted batch's own (a later run under the same name).
    expect(batches.map((g) => g.key)).toEqual(['name:sweep']);
    expect(batches[0].replicas.map((r) => r.session?.id)).toEqual([later.id]);
  });

  it("puts the session that re-runs a batch's combine step in that batch, not in a batch of its own", () => {
    const one = session({ name: 'merge-1', status: 'Completed' });
    const two = session({ name: 'merge-2', status: 'Completed' });
    const combine = session({ name: 'merge-combine', status: 'Running' });
    const unrelated = session({ name: 'other-combine', status: 'Running' });
    const { batches } = groupSessions(
      [one, two, combine, unrelated],
      [
        {
          id: '20260721-180000-abcd',
          name: 'merge',
          total: 2,
          replicas: [
            { index: 1, name: 'merge-1', sessionId: one.id },
            { index: 2, name: 'merge-2', sessionId: two.id },
          ],
        },
      ],
    );
    expect(batches.map((g) => g.name)).toEqual(['merge', 'other-combine']);
    expect(batches[0].replicas.map((r) => r.session?.id)).toEqual([one.id, two.id]);
  });

  it('is settled only when every replica is terminal', () => {
    const { batches } = groupSessions([
      session({ name: 'x-1', status: 'Completed' }),
      session({ name: 'x-2', status: 'Failed' }),
    ]);
    expect(isSettled(batches[0])).toBe(true);
    const running = groupSessions([
      session({ name: 'y-1', status: 'Completed' }),
      session({ name: 'y-2', status: 'Terminating' }),
    ]);
    expect(isSettled(running.batches[0])).toBe(false);
  });
});

describe('formatting', () => {
  it('formats durations and resources', () => {
    expect(formatDuration(12_000)).toBe('12 s');
    expect(formatDuration(185_000)).toBe('3 min 05 s');
    expect(formatDuration(3_720_000)).toBe('1 h 02 min');
    expect(
      formatResources(
        session({ name: 'a', requestedCPUCores: 2, requestedRAM: 8.59, isFixedResources: true }),
      ),
    ).toBe('2 CPU · 8 GB');
    // The platform reports the 1 "GB" asked as 1 GiB (1.07 GB): shown as asked, not as 1.1 GB.
    expect(formatResources(session({ name: 'c', requestedCPUCores: 1, requestedRAM: 1.073741824 }))).toBe(
      '1 CPU · 1 GB',
    );
    expect(formatResources(session({ name: 'd', requestedRAM: 3.5 }))).toBe('3.5 GB');
    expect(formatResources(session({ name: 'b', isFixedResources: false }))).toBe('flexible');
  });
});

describe('what the monitor adds', () => {
  const summary: BatchSummary = {
    id: '20260721-180000-abcd',
    name: 'sweep',
    total: 6,
    phase: 'running',
    sweep: { parameters: ['alpha'], sets: [{ alpha: '1' }, { alpha: '2' }], shards: 3 },
    replicas: [
      { index: 1, name: 'sweep-1-1', state: 'queued', set: 1, shard: 1, params: { alpha: '1' } },
      {
        index: 2,
        name: 'sweep-1-2',
        state: 'requeued',
        attempt: 2,
        set: 1,
        shard: 2,
        params: { alpha: '1' },
      },
      {
        index: 3,
        name: 'sweep-1-3',
        state: 'failed',
        exitCode: 1,
        failure: { cell: 3, exception: 'KeyError', message: "'x'" },
        start: '2026-07-21T18:00:00Z',
        end: '2026-07-21T18:01:00Z',
        // Given for an ended replica only: a running one's grows at every poll.
        durationSeconds: 60,
      },
      { index: 4, name: 'sweep-2-1', state: 'output-missing', exitCode: 0 },
      { index: 5, name: 'sweep-2-2', state: 'running', start: '2026-07-21T18:00:00Z', durationSeconds: 99 },
      { index: 6, name: 'sweep-2-3', state: 'launch-failed', message: '500: quota exceeded' },
    ],
  };

  it('carries state, attempt, set, shard, params and failure into the rows, with the status they show as', () => {
    const group = batchGroupOf(summary);
    expect(group.replicas.map((r) => [r.name, r.status, r.state])).toEqual([
      ['sweep-1-1', 'Pending', 'queued'],
      ['sweep-1-2', 'Pending', 'requeued'],
      ['sweep-1-3', 'Failed', 'failed'],
      ['sweep-2-1', 'Failed', 'output-missing'],
      ['sweep-2-2', 'Running', 'running'],
      ['sweep-2-3', 'Failed', 'launch-failed'],
    ]);
    expect(group.replicas[1]).toMatchObject({ attempt: 2, set: 1, shard: 2, params: { alpha: '1' } });
    expect(group.replicas[2]).toMatchObject({
      durationSeconds: 60,
      failure: { cell: 3, exception: 'KeyError' },
    });
    expect(group.replicas[4].durationSeconds).toBeUndefined();
    expect(kindCounts(group)).toEqual({ pending: 2, running: 1, completed: 0, failed: 3, other: 0 });
    expect(queueCounts(group)).toEqual({ queued: 1, requeued: 1, outputMissing: 1 });
    expect(sweptParameters(group)).toEqual(['alpha']);
    expect(summarize(group)).toBe('3/6 Failed · 1/6 Running · 2/6 Pending');
    expect(isFinished(group)).toBe(false);
    expect(batchFailures(group).map((f) => [f.key, f.replicas.map((r) => r.name)])).toEqual([
      ['cell:3|KeyError', ['sweep-1-3']],
      ['reason:launch-failed', ['sweep-2-3']],
      ['reason:output-missing', ['sweep-2-1']],
    ]);
    expect(batchEta(group, Date.parse('2026-07-21T18:10:00Z'))).toMatchObject({
      reason: 'too-few-completed',
    });
  });

  it('is finished once every replica has its outcome, the canary is through and the combine is over', () => {
    const done: BatchSummary = {
      ...summary,
      replicas: summary.replicas.map((r) => ({ ...r, state: r.index === 6 ? 'cancelled' : 'completed' })),
    };
    expect(isFinished(batchGroupOf(done))).toBe(true);
    expect(isFinished(batchGroupOf({ ...done, phase: 'canary' }))).toBe(false);
    expect(
      isFinished(batchGroupOf({ ...done, combine: { state: 'running', log: 'logs/combine.log' } })),
    ).toBe(false);
    expect(isFinished(batchGroupOf({ ...done, combine: { state: 'failed', log: 'logs/combine.log' } }))).toBe(
      true,
    );
    // A requeued replica runs again: not an outcome.
    const requeued = {
      ...done,
      replicas: [...done.replicas.slice(1), { index: 1, name: 'x', state: 'requeued' as const }],
    };
    expect(isFinished(batchGroupOf(requeued))).toBe(false);
  });
});
