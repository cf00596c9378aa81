import { formatDuration, formatResources, groupSessions, isSettled, summarize } from './grouping';
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
    ).toBe('2 CPU · 8.6 GB');
    expect(formatResources(session({ name: 'b', isFixedResources: false }))).toBe('flexible');
  });
});
