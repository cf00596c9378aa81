import { randomBytes } from 'node:crypto';
import {
  SESSION_KINDS,
  SkahaClient,
  createReplicas,
  validateSessionSpec,
  type ReplicaOutcome,
  type SessionSpec,
  type TransportRequest,
} from '../../../skaha';
import { USER_AGENT } from '../../connect';
import { choiceOption, integerOption, keyValueOptions, parseCommandArgs, UsageError } from '../args';
import type { Command, CommandIO } from '../command';
import { withConnection } from '../context';
import { json, line, Progress } from '../output';

const usage = `Usage: canfar-lab create [OPTIONS] KIND IMAGE [-- CMD [ARGS...]]

Launch a session (or N replicas of it). KIND is one of ${SESSION_KINDS.join(', ')}.
CMD and ARGS (headless only) replace the image's entrypoint; an argument cannot contain a space.

Options:
  -n, --name NAME        session name, letters, digits and '-' (default: KIND-<random>)
  -c, --cpu N            CPU cores (default: flexible, up to the service's limit)
  -m, --memory GB        RAM in GB (default: flexible)
  -g, --gpu N            GPUs (never 0)
  -e, --env KEY=VALUE    environment variable; repeatable
  -r, --replicas N       launch N replicas named NAME-1..NAME-N, each with REPLICA_ID and REPLICA_COUNT
      --dry-run          print the exact requests and send nothing
      --json             outcomes as JSON
  -h, --help             this help

Examples:
  canfar-lab create headless images.canfar.net/skaha/astroml:latest -r 10 -n sweep -- python3 /arc/home/me/run.py
  canfar-lab create notebook images.canfar.net/skaha/astroml:latest -c 2 -m 8
`;

const options = {
  name: { type: 'string', short: 'n' },
  cpu: { type: 'string', short: 'c' },
  memory: { type: 'string', short: 'm' },
  gpu: { type: 'string', short: 'g' },
  env: { type: 'string', short: 'e', multiple: true },
  replicas: { type: 'string', short: 'r' },
  'dry-run': { type: 'boolean' },
} as const;

/** The spec and replica count from the command line; every check that needs no request is done here. */
export function parseCreate(argv: string[]): { spec: SessionSpec; replicas: number; dryRun: boolean } {
  const { values, positionals, rest } = parseCommandArgs('create', argv, options);
  if (positionals.length < 2) throw new UsageError('create needs KIND and IMAGE', 'create');
  if (positionals.length > 2) {
    throw new UsageError(
      `unexpected ${JSON.stringify(positionals[2])}: put the command after \`--\` (create KIND IMAGE -- CMD ARGS...)`,
      'create',
    );
  }
  const kind = choiceOption('KIND', positionals[0], SESSION_KINDS, 'create')!;
  const replicas = integerOption('--replicas', values.replicas, 'create', 1) ?? 1;
  const spec: SessionSpec = {
    name: (values.name as string | undefined) ?? `${kind}-${randomBytes(3).toString('hex')}`,
    image: positionals[1],
    kind,
  };
  const cores = integerOption('--cpu', values.cpu, 'create');
  const ram = integerOption('--memory', values.memory, 'create');
  const gpus = integerOption('--gpu', values.gpu, 'create');
  const env = keyValueOptions('--env', values.env, 'create');
  if (cores !== undefined) spec.cores = cores;
  if (ram !== undefined) spec.ram = ram;
  if (gpus !== undefined) spec.gpus = gpus;
  if (env) spec.env = env;
  if (rest.length) {
    spec.cmd = rest[0];
    if (rest.length > 1) spec.args = rest.slice(1);
  }
  validateSessionSpec(spec, { replicas });
  return { spec, replicas, dryRun: Boolean(values['dry-run']) };
}

async function run(io: CommandIO): Promise<number> {
  const { spec, replicas, dryRun } = parseCreate(io.argv);
  return withConnection(
    io,
    async ({ client, baseUrl, credentials }) => {
      if (dryRun) {
        // The credential is added by the transport, not the client: show where it goes, never what it is.
        const auth: Record<string, string> =
          credentials.kind === 'token'
            ? { Authorization: 'Bearer <redacted>' }
            : { 'TLS client certificate': credentials.certificatePath ?? '' };
        return dryRunRequests(io, baseUrl, spec, replicas, auth);
      }
      // The service's own limits, so that a bad value fails here and not at replica 37 of 100.
      const [context, repositories] = await Promise.all([client.context(), client.repositories()]);
      validateSessionSpec(spec, { context, repositories, replicas });
      const progress =
        replicas > 1 && !io.globals.json
          ? new Progress(io.stderr, replicas, `creating ${spec.name}`)
          : undefined;
      let outcomes: ReplicaOutcome[];
      try {
        outcomes = await createReplicas(client, spec, replicas, {
          signal: io.signal,
          onOutcome: (o: ReplicaOutcome) => progress?.step(o.ok, describe(o)),
        });
      } finally {
        progress?.end();
      }
      const failed = outcomes.filter((o) => !o.ok);
      if (io.globals.json) json(io.stdout, outcomes);
      else {
        for (const o of outcomes) if (o.ok) line(io.stdout, `${o.sessionId}  ${o.name}`);
        for (const o of failed) line(io.stderr, describe(o));
        if (replicas > 1) line(io.stderr, `${replicas - failed.length} of ${replicas} replicas created.`);
      }
      return failed.length ? 1 : 0;
    },
    { cancelInFlight: false },
  );
}

function describe(o: ReplicaOutcome): string {
  if (o.ok)
    return `created ${o.name}: ${o.sessionId}${o.reconciled ? ' (found by name after an ambiguous failure)' : ''}`;
  return `failed ${o.name}: ${o.status ? `${o.status} ` : ''}${o.message}`;
}

/**
 * Runs the real replica loop over a recording transport: what is printed is exactly what would be sent
 * (names, REPLICA_ID/REPLICA_COUNT, form encoding), with the credential redacted.
 */
async function dryRunRequests(
  io: CommandIO,
  baseUrl: string,
  spec: SessionSpec,
  replicas: number,
  auth: Record<string, string>,
): Promise<number> {
  const requests: TransportRequest[] = [];
  let next = 0;
  const recorder = async (request: TransportRequest) => {
    requests.push(request);
    const body = request.method === 'POST' ? `dryrun${String(next++).padStart(2, '0')}\n` : '[]';
    return { status: 200, headers: { get: () => null }, text: async () => body };
  };
  const dry = new SkahaClient({ baseUrl, transport: recorder, userAgent: USER_AGENT });
  await createReplicas(dry, spec, replicas, { concurrency: 1 });
  const posts = requests
    .filter((r) => r.method === 'POST')
    .map((r) => ({
      method: r.method,
      url: r.url,
      headers: Object.fromEntries(
        Object.entries({ ...r.headers, ...auth }).map(([k, v]) => [
          k,
          /registry-auth/i.test(k) ? '<redacted>' : v,
        ]),
      ),
      body: r.body ?? '',
      form: [...new URLSearchParams(r.body ?? '')],
    }));
  if (io.globals.json) {
    json(io.stdout, posts);
    return 0;
  }
  for (const post of posts) {
    line(io.stdout, `${post.method} ${post.url}`);
    for (const [k, v] of Object.entries(post.headers)) line(io.stdout, `${k}: ${v}`);
    line(io.stdout);
    line(io.stdout, post.body);
    for (const [k, v] of post.form) line(io.stdout, `  # ${k} = ${v}`);
    line(io.stdout);
  }
  line(io.stderr, `Dry run: ${posts.length} request(s) not sent.`);
  return 0;
}

export const create: Command = { summary: 'launch a session, or N replicas of it', usage, options, run };
