/**
 * Container mode (`--runtime docker|podman`): the command line handed to the container CLI, and the
 * session lifecycle around it. A stand-in `docker` script records its arguments and runs the entrypoint
 * locally, so this runs without a container daemon; it checks our side of the contract, not docker's.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { IMAGE, startTestServer, waitFor } from './helpers/local';

const FAKE_DOCKER = (log: string) => `#!/bin/sh
echo "$*" >> ${log}
[ "$1" = rm ] && exit 0
shift
entry=
while [ $# -gt 0 ]; do
  case "$1" in
    --rm|--init) shift ;;
    --name|--label|-v|-w|--user|--cpus|--memory) shift 2 ;;
    -e) export "$2"; shift 2 ;;
    --entrypoint) entry=$2; shift 2 ;;
    *) break ;;
  esac
done
image=$1; shift
echo "container from $image"
[ -z "$entry" ] && { echo "image entrypoint with: $*"; exit 0; }
exec "$entry" "$@"
`;

let dir: string;
let calls: string;
let docker: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'canfar-fake-docker-'));
  calls = join(dir, 'docker-calls.txt');
  docker = join(dir, 'docker');
  writeFileSync(docker, FAKE_DOCKER(calls));
  chmodSync(docker, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('headless sessions run through `docker run` with the pod-like mounts, user, env, limits and entrypoint', async () => {
  const c = await startTestServer({ container: { runtime: 'docker', command: docker } });
  try {
    const home = c.home;
    const script = join(home, 'show.sh');
    writeFileSync(script, 'echo "HOME=$HOME REPLICA_ID=$REPLICA_ID OMP=$OMP_NUM_THREADS pwd=$(pwd)"\n');
    const id = await c.api.create({
      name: 'in-image',
      image: IMAGE,
      cmd: 'sh',
      args: script,
      cores: '1',
      ram: '2',
      env: 'REPLICA_ID=1',
    });
    expect((await c.api.waitStatus(id, ['Completed', 'Failed'])).status).toBe('Completed');
    expect(await c.api.logs(id)).toBe(
      `container from ${IMAGE}\nHOME=${home} REPLICA_ID=1 OMP=1 pwd=${home}\n`,
    );
    expect(await c.api.events(id)).toMatch(
      /Normal\s+Pulling\s+Running image "images\.canfar\.net\/skaha\/terminal:1\.1\.2" with docker/,
    );
    const run = readFileSync(calls, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`run --rm --init --name canfar-${id} `))!;
    expect(run).toMatch(
      new RegExp(`--label canfar-session=${id} -v ${home}:${home} -w ${home} --user \\d+:\\d+ `),
    );
    expect(run).toContain(' -e REPLICA_ID=1 ');
    expect(run).toContain(` -e skaha_sessionid=${id} `);
    expect(run).not.toContain(' -e PATH=');
    expect(run.endsWith(` --cpus 1 --memory 2048m --entrypoint sh ${IMAGE} ${script}`)).toBe(true);
    await waitFor('container removal', () =>
      readFileSync(calls, 'utf8').includes(`rm -f canfar-${id}`) ? true : undefined,
    );

    // Without cmd the image's own entrypoint runs (args replace its CMD), which process mode cannot do.
    const entry = await c.api.create({ name: 'entrypoint', image: IMAGE, args: 'one two' });
    expect((await c.api.waitStatus(entry, ['Completed', 'Failed'])).status).toBe('Completed');
    expect(await c.api.logs(entry)).toContain('image entrypoint with: one two');
  } finally {
    await c.dispose();
  }
});
