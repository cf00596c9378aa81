import {
  encodeCreateRequest,
  normalizeBaseUrl,
  SkahaClient,
  SkahaError,
  SkahaTransportError,
  type Transport,
  type TransportRequest,
  type TransportResponse,
  validateSessionSpec,
  type SkahaContext,
} from './index';

const BASE = 'https://ws-uv.canfar.net/skaha/v1';

function reply(status: number, body: string, headers: Record<string, string> = {}): TransportResponse {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { status, headers: { get: (name) => lower[name.toLowerCase()] ?? null }, text: async () => body };
}

/** A client whose transport records each request and answers with `answer(request)`. */
function recording(answer: (request: TransportRequest) => TransportResponse | Promise<TransportResponse>) {
  const requests: TransportRequest[] = [];
  const transport: Transport = async (request) => {
    requests.push(request);
    return answer(request);
  };
  return { client: new SkahaClient({ baseUrl: BASE, transport, userAgent: 'canfar-lab/test' }), requests };
}

const form = (body: string | undefined) => [...new URLSearchParams(body ?? '')];

describe('request encoding', () => {
  test('create: a form body with repeated env, args joined by single spaces, and the registry header', async () => {
    const { client, requests } = recording(() => reply(200, 'k3x9q2ma\n'));
    const id = await client.create({
      name: 'sweep',
      image: 'images.canfar.net/skaha/astroml:latest',
      cores: 2,
      ram: 8,
      cmd: 'sh',
      args: ['/arc/home/jdoe/run.sh', '--fast'],
      env: { A: '1', PATH_EXTRA: '/opt/x y' },
      registryAuth: { username: 'jdoe', secret: 'pässwörd' },
    });
    expect(id).toBe('k3x9q2ma');
    const [request] = requests;
    expect(request.method).toBe('POST');
    expect(request.url).toBe(`${BASE}/session`);
    expect(request.idempotent).toBe(false);
    expect(request.headers['Content-Type']).toBe('application/x-www-form-urlencoded');
    expect(request.headers['User-Agent']).toBe('canfar-lab/test');
    expect(form(request.body)).toEqual([
      ['name', 'sweep'],
      ['image', 'images.canfar.net/skaha/astroml:latest'],
      ['type', 'headless'],
      ['cores', '2'],
      ['ram', '8'],
      ['cmd', 'sh'],
      ['args', '/arc/home/jdoe/run.sh --fast'],
      ['env', 'A=1'],
      ['env', 'PATH_EXTRA=/opt/x y'],
    ]);
    // base64 of the UTF-8 bytes, as the service decodes it.
    expect(Buffer.from(request.headers['x-skaha-registry-auth'], 'base64').toString('utf8')).toBe(
      'jdoe:pässwörd',
    );
  });

  test('gpus is never sent as 0, and flexible sessions send no resources at all', () => {
    const { body } = encodeCreateRequest({ name: 'a', image: 'i/x', gpus: 0 });
    expect(form(body).map(([k]) => k)).toEqual(['name', 'image', 'type']);
    expect(encodeCreateRequest({ name: 'a', image: 'i/x', gpus: 2 }).body).toContain('gpus=2');
  });

  test('GET and DELETE are marked idempotent, POST not; ids and filters are encoded', async () => {
    const { client, requests } = recording((r) =>
      reply(200, r.method === 'GET' && !r.url.includes('/session/') ? '[]' : ''),
    );
    await client.list({ type: 'headless', status: 'Running' });
    await client.list({ view: 'interactive', type: 'headless', status: 'Running' });
    await client.listAll({ status: 'Pending' });
    await client.logs('abc');
    await client.eventsText('abc');
    await client.delete('a/b');
    await client.renew('abc');
    expect(requests.map((r) => [r.method, r.url.slice(BASE.length), r.idempotent])).toEqual([
      ['GET', '/session?type=headless&status=Running', true],
      ['GET', '/session?view=interactive&status=Running', true],
      ['GET', '/session?view=all&status=Pending', true],
      ['GET', '/session/abc?view=logs', true],
      ['GET', '/session/abc?view=events', true],
      ['DELETE', '/session/a%2Fb', true],
      ['POST', '/session/abc', false],
    ]);
    expect(requests[6].body).toBe('action=renew');
    expect(requests[0].headers.Accept).toBe('application/json');
    expect(requests[3].headers.Accept).toBe('text/plain');
  });
});

test('view=interactive keeps non-headless sessions only, even from a server that ignores the view', async () => {
  const { client } = recording(() =>
    reply(
      200,
      JSON.stringify([
        { id: 'aaaaaaaa', type: 'headless', status: 'Running', name: 'job', image: 'i/x' },
        { id: 'bbbbbbbb', type: 'notebook', status: 'Running', name: 'nb', image: 'i/x' },
      ]),
    ),
  );
  expect((await client.list({ view: 'interactive' })).map((s) => s.id)).toEqual(['bbbbbbbb']);
});

describe('list', () => {
  const wire = (id: string, status: string) => ({
    id,
    name: `fit-${id}`,
    type: 'headless',
    status,
    image: 'images.canfar.net/skaha/astroml:latest',
    startTime: '2026-07-21T18:00:00Z',
    requestedRAM: '8Gi',
  });

  test('returns the same object for a session the service sends unchanged, a new one for a changed session', async () => {
    let body = [wire('a1', 'Running'), wire('b2', 'Running')];
    const { client } = recording(() =>
      reply(200, JSON.stringify(body), { 'Content-Type': 'application/json' }),
    );
    const [a, b] = await client.list();
    expect(a).toMatchObject({ id: 'a1', status: 'Running', requestedRAM: 8.589935 });
    const again = await client.list();
    expect(again).toEqual([a, b]);
    expect(again[1]).toBe(b);
    body = [wire('a1', 'Running'), wire('b2', 'Completed')];
    const [a2, b2] = await client.list();
    expect(a2).toBe(a);
    expect(b2).not.toBe(b);
    expect(b2.status).toBe('Completed');
  });

  test('still names what is wrong in an unexpected answer', async () => {
    const { client } = recording(() =>
      reply(200, JSON.stringify([wire('a1', 'Running'), { name: 'no-id' }]), {
        'Content-Type': 'application/json',
      }),
    );
    await expect(client.list()).rejects.toThrow(/list sessions: unexpected answer: .*id/);
  });
});

describe('errors', () => {
  test.each([
    [400, 'bad-request', "name can only contain alpha-numeric chars and '-'"],
    [401, 'unauthenticated', 'not authenticated'],
    [403, 'forbidden', 'user not in group'],
    [404, 'not-found', 'session not found: abc'],
    [500, 'server-error', 'java.lang.NullPointerException'],
  ])('HTTP %i gives code %s with the service text', async (status, code, text) => {
    const { client } = recording(() => reply(status, `${text}\nmore detail\n`));
    const error = (await client.get('abc').catch((e: unknown) => e)) as SkahaError;
    expect(error).toBeInstanceOf(SkahaError);
    expect(error).toMatchObject({ code, status, serviceMessage: `${text}\nmore detail` });
    expect(error.message).toBe(`get session abc failed with HTTP ${status}: ${text}`);
    expect(error.hint.length).toBeGreaterThan(20);
  });

  test('503 carries Retry-After', async () => {
    const { client } = recording(() => reply(503, 'metrics unavailable', { 'Retry-After': '7' }));
    await expect(client.stats()).rejects.toMatchObject({
      code: 'unavailable',
      status: 503,
      retryAfterSeconds: 7,
    });
  });

  test('a proxy HTML page is summarised by its title, not dumped', async () => {
    const { client } = recording(() =>
      reply(502, '<html><head><title>502 Bad Gateway</title></head><body>...</body></html>'),
    );
    await expect(client.list()).rejects.toThrow('list sessions failed with HTTP 502: 502 Bad Gateway');
  });

  test('a body that is not what the service sends is an invalid-response naming the problem', async () => {
    const { client } = recording(() => reply(200, '[{"name":"x"}]'));
    const error = (await client.list().catch((e: unknown) => e)) as SkahaError;
    expect(error.code).toBe('invalid-response');
    expect(error.message).toMatch(/list sessions: unexpected answer: .*id/);
    const { client: html } = recording(() => reply(200, '<html>login</html>'));
    await expect(html.context()).rejects.toThrow(
      'resource context: the answer is not JSON: "<html>login</html>"',
    );
    const { client: blank } = recording(() => reply(200, '\n'));
    await expect(blank.create({ name: 'a', image: 'i/x' })).rejects.toMatchObject({
      code: 'invalid-response',
    });
  });

  test('a transport failure that is not typed is taken as possibly sent', async () => {
    const client = new SkahaClient({
      baseUrl: BASE,
      transport: async () => {
        throw new TypeError('fetch failed');
      },
    });
    const error = (await client
      .create({ name: 'a', image: 'i/x' })
      .catch((e: unknown) => e)) as SkahaTransportError;
    expect(error).toBeInstanceOf(SkahaTransportError);
    expect(error.sent).toBe(true);
    expect(error.message).toBe('create session "a": fetch failed');
  });

  test('an invalid spec is refused before any request', async () => {
    const { client, requests } = recording(() => reply(200, 'x'));
    await expect(client.create({ name: 'bad name', image: 'i/x' })).rejects.toMatchObject({
      code: 'invalid-input',
    });
    expect(requests).toHaveLength(0);
  });
});

describe('normalizeBaseUrl', () => {
  test.each([
    ['https://ws-uv.canfar.net/skaha', 'https://ws-uv.canfar.net/skaha/v1'],
    ['https://ws-uv.canfar.net/skaha/', 'https://ws-uv.canfar.net/skaha/v1'],
    ['https://ws-uv.canfar.net/skaha/v1', 'https://ws-uv.canfar.net/skaha/v1'],
    ['https://ws-uv.canfar.net/skaha/v1/', 'https://ws-uv.canfar.net/skaha/v1'],
    ['https://example.org/skaha/v2', 'https://example.org/skaha/v2'],
    ['http://127.0.0.1:5000/skaha', 'http://127.0.0.1:5000/skaha/v1'],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeBaseUrl(input)).toBe(expected);
  });

  test('refuses what is not an http(s) URL', () => {
    expect(() => normalizeBaseUrl('ws-uv.canfar.net/skaha')).toThrow('is not an absolute URL');
    expect(() => normalizeBaseUrl('ftp://x/skaha')).toThrow('must use http or https');
  });
});

describe('validateSessionSpec', () => {
  const context: SkahaContext = {
    cores: { default: 2, defaultRequest: 1, defaultLimit: 8, options: [1, 2, 4, 8, 16] },
    memoryGB: { default: 8, defaultRequest: 4, defaultLimit: 32, options: [1, 2, 4, 8, 16, 32] },
    gpus: { options: [1, 2] },
  };
  const ok = { name: 'sweep', image: 'images.canfar.net/skaha/astroml:latest' };
  const problem = (spec: object, options = {}) => {
    try {
      validateSessionSpec({ ...ok, ...spec }, options);
    } catch (error) {
      expect(error).toMatchObject({ code: 'invalid-input' });
      return (error as Error).message;
    }
    return 'valid';
  };

  test('a good spec passes, with or without context', () => {
    expect(
      problem({ cores: 4, ram: 16, gpus: 1, env: { A: 'b' }, args: ['x'] }, { context, replicas: 512 }),
    ).toBe('valid');
  });

  test('each rule names the value', () => {
    expect(problem({ name: 'my_job' })).toBe(
      'name "my_job" contains "_": only letters, digits and "-" are allowed.',
    );
    expect(problem({ name: 'a'.repeat(60) }, { replicas: 100 })).toMatch(
      /too long for 100 replicas: "a{60}-100" has 64 characters, more than 63 \(.*pod's hostname.*500.*\)\. Use at most 59 characters\./,
    );
    expect(problem({ name: 'a'.repeat(59) }, { replicas: 100 })).toBe('valid');
    expect(problem({ name: 'a'.repeat(64) })).toMatch(/has 64 characters, more than 63/);
    expect(problem({ cores: 3 }, { context })).toBe(
      'cores=3 is not offered by this service: choose one of 1, 2, 4, 8, 16 (cores, from /context).',
    );
    expect(problem({ ram: 12 }, { context })).toMatch(/^ram=12 is not offered .* 1, 2, 4, 8, 16, 32 \(GB/);
    expect(problem({ gpus: 0 })).toMatch(/^gpus=0: leave gpus out/);
    expect(problem({ cores: 1.5 })).toMatch(/cores=1.5 must be a whole number/);
    expect(problem({ env: { EMPTY: '' } })).toMatch(/env EMPTY is empty: the service silently drops/);
    expect(problem({ env: { Q: 'a=b' } })).toMatch(/env Q="a=b" contains "=": the service silently drops/);
    expect(problem({ env: { '1X': 'v' } })).toMatch(/env key "1X" is not a valid variable name/);
    expect(problem({ env: { REPLICA_ID: '3' } }, { replicas: 2 })).toMatch(
      /REPLICA_ID is set for each replica/,
    );
    expect(problem({ args: ['my file.txt'] })).toMatch(/args\[0\] "my file.txt" contains a space/);
    expect(problem({ image: 'docker.io/library/python:3' }, { repositories: ['images.canfar.net'] })).toMatch(
      /image "docker.io\/library\/python:3" is not on a registry this service allows \(images.canfar.net\)/,
    );
    expect(problem({}, { replicas: 513 })).toMatch(/replicas=513 is out of range: launch between 1 and 512/);
    expect(problem({}, { replicas: 0 })).toMatch(/replicas=0 is out of range/);
    expect(problem({ kind: 'notebook', cmd: 'sh' })).toMatch(/cmd and args apply to headless sessions only/);
  });

  test('names the service refuses (leading "-": 400) or fails on (trailing "-", over 63 characters: 500), with the replica suffix', () => {
    expect(problem({ name: '-job' })).toBe(
      'name "-job" starts with "-": the service refuses it ("canfar.net/name label value cannot be blank"). Start it with a letter or digit.',
    );
    expect(problem({ name: '-job' }, { replicas: 4 })).toMatch(/^name "-job" starts with "-"/);
    expect(problem({ name: 'job-' })).toMatch(
      /^name "job-" ends with "-": it must end with a letter or digit \(a session's name is also its pod's hostname, so the service answers 500 otherwise\)\.$/,
    );
    // With a replica suffix the final names end with a digit: "job--1".
    expect(problem({ name: 'job-' }, { replicas: 4 })).toBe('valid');
    // A sweep's suffix "-<set>-<shard>", given by its longest length.
    expect(problem({ name: 'a'.repeat(57) }, { replicas: 512, nameSuffixLength: 6 })).toBe('valid');
    expect(problem({ name: 'a'.repeat(58) }, { replicas: 512, nameSuffixLength: 6 })).toMatch(
      /^name "a{58}" is too long for its replica suffix: with the longest one \(6 characters\) a session name has 64 characters, more than 63 .* Use at most 57 characters\.$/,
    );
    expect(problem({ name: 'job-' }, { nameSuffixLength: 0 })).toMatch(/ends with "-"/);
    // Or by the final names themselves.
    expect(problem({ name: 'job' }, { names: ['job-1-1', 'job-1-2', 'job-2-1'] })).toBe('valid');
    expect(problem({ name: 'job' }, { names: ['job-1', 'job-'] })).toMatch(
      /^name "job-" \(one of 2 session names\) ends with "-"/,
    );
    expect(
      problem({ name: 'a'.repeat(60) }, { names: ['a'.repeat(60) + '-1-1', 'a'.repeat(60) + '-10-12'] }),
    ).toMatch(
      /^name "a{60}-10-12" \(one of 2 session names\) has 66 characters, more than 63 .* Shorten "a{60}" by 3 characters\.$/,
    );
  });

  test("resources are checked against the endpoint's /context: production's LimitRange ranges", () => {
    const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    const production: SkahaContext = {
      cores: { default: 1, defaultRequest: 1, defaultLimit: 16, options: range(16) },
      memoryGB: { default: 4, defaultRequest: 4, defaultLimit: 32, options: range(192) },
      gpus: { options: range(7) },
      maxInteractiveSessions: 3,
    };
    expect(problem({ cores: 16, ram: 192, gpus: 7 }, { context: production })).toBe('valid');
    expect(problem({ cores: 17, ram: 193, gpus: 8 }, { context: production })).toBe(
      '3 problems:\n' +
        '- cores=17 is not offered by this service: choose one of 1..16 (cores, from /context).\n' +
        '- ram=193 is not offered by this service: choose one of 1..192 (GB, from /context).\n' +
        '- gpus=8 is not offered by this service: choose one of 1..7 (GPUs, from /context).',
    );
    expect(problem({ gpus: 1 }, { context: { ...production, gpus: { options: [] } } })).toMatch(
      /^gpus=1 is not offered by this service: choose one of none/,
    );
  });

  test('several problems are reported together', () => {
    expect(problem({ name: 'a b', gpus: 0, env: { E: '' } })).toMatch(
      /^3 problems:\n- name .*\n- gpus=0.*\n- env E is empty/,
    );
  });
});
