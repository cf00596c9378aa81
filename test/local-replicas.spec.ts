/**
 * 100 replicas of a small script on this machine (2 cores): every one is launched, queued while the
 * cores are busy, and ends with the right status, log and events; the replica that exits 3 is Failed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { IMAGE, startTestServer, waitFor } from './helpers/local';

const N = 100;

test(`${N} replicas of a script: launched, queued on 2 cores, completed with their own logs and events`, async () => {
  const t = await startTestServer({ cores: 2, ramGB: 16 });
  try {
    const script = join(t.home, 'replica.sh');
    // The replica that exits 3 does so after writing to stdout and stderr, so its log is checked too.
    writeFileSync(
      script,
      'echo "replica $REPLICA_ID of $REPLICA_COUNT in $skaha_sessionid"\n' +
        'echo "stderr of $REPLICA_ID" >&2\n' +
        '[ "$REPLICA_ID" = 42 ] && exit 3\n' +
        'exit 0\n',
    );
    const ids = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        t.api.create({
          name: `sweep-${i + 1}`,
          image: IMAGE,
          cmd: 'sh',
          args: script,
          env: [`REPLICA_ID=${i + 1}`, `REPLICA_COUNT=${N}`],
        }),
      ),
    );
    expect(new Set(ids).size).toBe(N);
    for (const id of ids) expect(id).toMatch(/^[a-z][a-z0-9]{7}$/);

    // With 2 cores and flexible sessions holding 1 core each, at most 2 run at once.
    let maxRunning = 0;
    const sessions = await waitFor(
      'all replicas to end',
      async () => {
        const list = await t.api.list('?type=headless');
        maxRunning = Math.max(maxRunning, list.filter((s) => s.status === 'Running').length);
        const mine = list.filter((s) => ids.includes(s.id));
        return mine.length === N && mine.every((s) => s.status === 'Completed' || s.status === 'Failed')
          ? mine
          : undefined;
      },
      60_000,
    );
    expect(maxRunning).toBeLessThanOrEqual(2);

    const byName = new Map(sessions.map((s) => [s.name, s]));
    for (let i = 1; i <= N; i += 1) {
      const session = byName.get(`sweep-${i}`)!;
      expect({ replica: i, status: session.status }).toEqual({
        replica: i,
        status: i === 42 ? 'Failed' : 'Completed',
      });
      const log = await t.api.logs(session.id);
      expect(log).toContain(`replica ${i} of ${N} in ${session.id}\n`);
      expect(log).toContain(`stderr of ${i}\n`);
    }
    const failed = byName.get('sweep-42')!;
    const failedEvents = await t.api.events(failed.id);
    expect(failedEvents).toMatch(/Warning\s+Failed\s+Process exited with exit code 3\s/);
    const okEvents = await t.api.events(byName.get('sweep-7')!.id);
    expect(okEvents.split('\n').map((l) => l.split(/\s{3,}/)[1])).toEqual([
      'REASON',
      'Scheduled',
      'ImageNotUsed',
      'Started',
      'Completed',
      undefined,
    ]);
    const stats = JSON.parse((await t.api.call('GET', '/session?view=stats')).body);
    expect(stats.cores.requestedCPUCores).toBe(0);
  } finally {
    await t.dispose();
  }
}, 90_000);
