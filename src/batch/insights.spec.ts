// The batch at a glance: failures grouped by signature, the time left, the timeline's bars.
import { estimateRemaining, groupFailures, minCompletedForEta, splitError, timelineLayout } from './insights';
import type { FailedReplica } from './insights';

const failed = (replica: number, cell?: number, exception?: string, message?: string): FailedReplica => ({
  replica,
  name: `fit-${replica}`,
  ...(cell !== undefined ? { cell } : {}),
  ...(exception !== undefined ? { exception } : {}),
  ...(message !== undefined ? { message } : {}),
});

describe('groupFailures', () => {
  it('makes one group of the same cell and exception whatever the message, largest first', () => {
    const groups = groupFailures([
      failed(9, 7, 'ValueError', 'bad shape'),
      failed(3, 4, 'FileNotFoundError', "No such file: 'a.csv'"),
      failed(1, 4, 'FileNotFoundError', "No such file: 'b.csv'"),
      failed(5, 4, 'FileNotFoundError', "No such file: 'b.csv'"),
      failed(2, 4, 'KeyError', "'x'"),
    ]);
    expect(groups.map((g) => [g.cell, g.exception, g.replicas.map((r) => r.replica)])).toEqual([
      [4, 'FileNotFoundError', [1, 3, 5]],
      [4, 'KeyError', [2]],
      [7, 'ValueError', [9]],
    ]);
    // The example message is the one most of the group share.
    expect(groups[0].message).toBe("No such file: 'b.csv'");
  });

  it('keeps the same exception in two cells apart, and groups failures without an error by reason', () => {
    const groups = groupFailures([
      failed(1, 2, 'ValueError'),
      failed(2, 5, 'ValueError'),
      { replica: 3, name: 'fit-3', reason: 'launch-failed', message: '500: quota' },
      { replica: 4, name: 'fit-4', reason: 'launch-failed', message: '500: quota' },
      { replica: 5, name: 'fit-5', reason: 'lost' },
    ]);
    expect(groups.map((g) => g.key)).toEqual([
      'reason:launch-failed',
      'cell:2|ValueError',
      'cell:5|ValueError',
      'reason:lost',
    ]);
    expect(groups[0]).toMatchObject({ reason: 'launch-failed', message: '500: quota' });
    expect(groups[0].exception).toBeUndefined();
  });

  it('returns no group without failures', () => {
    expect(groupFailures([])).toEqual([]);
  });
});

describe('splitError', () => {
  it('splits a Python or JS error line into its exception and message', () => {
    expect(splitError('ZeroDivisionError: division by zero')).toEqual({
      exception: 'ZeroDivisionError',
      message: 'division by zero',
    });
    expect(splitError('requests.exceptions.HTTPError: 404')).toEqual({
      exception: 'requests.exceptions.HTTPError',
      message: '404',
    });
    expect(splitError('Killed by signal TERM')).toEqual({ message: 'Killed by signal TERM' });
    expect(splitError('  ')).toEqual({});
  });
});

describe('estimateRemaining', () => {
  const ten = (seconds: number) => Array.from({ length: 10 }, () => seconds);

  it('gives no estimate with too few completed replicas', () => {
    // 4 of 10 done: fewer than 5.
    expect(estimateRemaining({ completed: [60, 60, 60, 60], running: [10, 20], waiting: 4 })).toEqual({
      reason: 'too-few-completed',
      stragglers: 0,
      basis: 4,
    });
    // 300 replicas: 20 completed is less than a tenth.
    expect(minCompletedForEta(300)).toBe(30);
    expect(
      estimateRemaining({ completed: Array(20).fill(60), running: Array(50).fill(10), waiting: 230 }),
    ).toMatchObject({ reason: 'too-few-completed' });
  });

  it('adds the waiting replicas on the slots the running ones free', () => {
    // Replicas take 100 s; 2 run (40 s and 70 s in), 4 wait: slots free at 60 and 30, then each slot
    // takes two more of 100 s: 60+200 = 260 and 30+200 = 230.
    const eta = estimateRemaining({ completed: ten(100), running: [40, 70], waiting: 4 });
    expect(eta).toEqual({ seconds: 260, stragglers: 0, basis: 10 });
  });

  it('predicts a running replica from the completed ones that ran longer than it has', () => {
    // Half took 100 s, half 300 s; one replica has run 150 s: the ones that lasted beyond 150 s took
    // 300, so it needs about 150 more (not the mean 200 minus 150).
    const completed = [...Array(5).fill(100), ...Array(5).fill(300)];
    expect(estimateRemaining({ completed, running: [150], waiting: 0 }).seconds).toBe(150);
  });

  it('is honest with stragglers: they are counted, left out of the estimate, and their slots not reused', () => {
    const eta = estimateRemaining({ completed: ten(100), running: [50, 400, 500], waiting: 1 });
    // The 50 s one ends in 50, then the waiting one takes 100 there; the two beyond any completed
    // duration are not predicted.
    expect(eta).toEqual({ seconds: 150, stragglers: 2, basis: 10 });
    expect(estimateRemaining({ completed: ten(100), running: [400], waiting: 0 })).toEqual({
      reason: 'only-stragglers',
      stragglers: 1,
      basis: 10,
    });
  });

  it('gives no estimate when nothing runs to take the waiting replicas, or nothing is left', () => {
    expect(estimateRemaining({ completed: ten(100), running: [], waiting: 5 })).toMatchObject({
      reason: 'nothing-running',
    });
    expect(estimateRemaining({ completed: ten(100), running: [], waiting: 0 })).toMatchObject({
      reason: 'nothing-left',
    });
  });
});

describe('timelineLayout', () => {
  it('draws started replicas from their start, to now while running, ordered by start', () => {
    const t = Date.parse('2026-07-21T18:00:00Z');
    const layout = timelineLayout(
      [
        { replica: 1, start: t + 5_000, end: t + 65_000, kind: 'completed' },
        { replica: 2, start: t, open: true, kind: 'running' },
        { replica: 3, kind: 'pending' },
        { replica: 4, start: t + 5_000, end: t + 10_000, kind: 'failed' },
      ],
      t + 120_000,
    );
    expect(layout.origin).toBe(t);
    expect(layout.span).toBe(120_000);
    expect(layout.waiting).toBe(1);
    expect(layout.bars).toEqual([
      { replica: 2, from: 0, to: 120_000, open: true, kind: 'running' },
      { replica: 1, from: 5_000, to: 65_000, open: false, kind: 'completed' },
      { replica: 4, from: 5_000, to: 10_000, open: false, kind: 'failed' },
    ]);
  });

  it('is empty before any replica starts', () => {
    expect(timelineLayout([{ replica: 1, kind: 'pending' }], 1000)).toEqual({
      origin: 1000,
      span: 0,
      bars: [],
      waiting: 1,
    });
  });
});
