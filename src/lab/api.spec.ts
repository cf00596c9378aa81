import { ServerConnection } from '@jupyterlab/services';
import { SkahaTransportError } from '../skaha';
import { createLabClient, createLabTransport, fetchInfo } from './api';

/** Server settings whose fetch answers from a table, recording what was asked. */
function settingsWith(answer: (url: string, init: RequestInit) => Response | Promise<Response>) {
  const requests: { url: string; method: string; headers: Headers; body?: string }[] = [];
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://127.0.0.1:8888/lab-base/',
    token: 'jupyter-token',
    fetch: async (input: RequestInfo, init?: RequestInit) => {
      const request = input instanceof Request ? input : new Request(input, init);
      requests.push({
        url: request.url,
        method: request.method,
        headers: request.headers,
        body: request.method === 'POST' ? await request.clone().text() : undefined,
      });
      return answer(request.url, init ?? {});
    },
  });
  return { settings, requests };
}

describe('lab transport', () => {
  it('sends Skaha calls under canfar/api/skaha/v1 with the Jupyter token and a form body', async () => {
    const { settings, requests } = settingsWith((url) =>
      url.includes('/session?')
        ? new Response(
            '[{"id":"k3x9q2ma","image":"images.canfar.net/skaha/astroml:latest","type":"headless","status":"Running","name":"sweep-1"}]',
            {
              status: 200,
              headers: { 'Content-Type': 'application/json' },
            },
          )
        : new Response('k3x9q2mb\n', { status: 200, headers: { 'Content-Type': 'text/plain' } }),
    );
    const client = createLabClient(settings);
    const sessions = await client.list({ type: 'headless' });
    expect(sessions.map((s) => s.name)).toEqual(['sweep-1']);
    expect(requests[0].url).toBe('http://127.0.0.1:8888/lab-base/canfar/api/skaha/v1/session?type=headless');
    expect(requests[0].headers.get('Authorization')).toBe('token jupyter-token');

    const id = await client.create({
      name: 'sweep-2',
      image: 'images.canfar.net/skaha/astroml:latest',
      env: { A: 'b' },
    });
    expect(id).toBe('k3x9q2mb');
    expect(requests[1].method).toBe('POST');
    expect(requests[1].headers.get('Content-Type')).toMatch(/application\/x-www-form-urlencoded/);
    expect(requests[1].body).toContain('name=sweep-2');
  });

  it('turns a network failure into SkahaTransportError that says whether a POST may have arrived', async () => {
    const { settings } = settingsWith(() => {
      throw new TypeError('Failed to fetch');
    });
    const transport = createLabTransport(settings);
    const get = transport({
      method: 'GET',
      url: 'http://127.0.0.1:8888/lab-base/canfar/api/skaha/v1/session',
      headers: {},
      idempotent: true,
    });
    await expect(get).rejects.toBeInstanceOf(SkahaTransportError);
    await expect(get).rejects.toMatchObject({
      sent: false,
      message: expect.stringContaining('http://127.0.0.1:8888/lab-base/'),
    });
    const post = transport({ method: 'POST', url: 'http://x/', headers: {}, body: 'a=b', idempotent: false });
    await expect(post).rejects.toMatchObject({ sent: true });
  });
});

describe('fetchInfo', () => {
  it('reports the missing server half on a 404', async () => {
    const { settings } = settingsWith(() => new Response('Not Found', { status: 404 }));
    const result = await fetchInfo(settings);
    expect(result).toMatchObject({ ok: false, problem: { kind: 'server-half-missing' } });
  });

  it("passes on the server half's own diagnosis when the endpoint is not usable", async () => {
    const body = {
      endpoint: 'canfar',
      url: 'https://ws-uv.canfar.net/skaha',
      credential: { kind: 'none', source: '' },
      ok: false,
      error: 'No credential found: set CANFAR_TOKEN or CANFAR_CERTIFICATE, then restart Jupyter.',
    };
    const { settings } = settingsWith(() => new Response(JSON.stringify(body), { status: 200 }));
    const result = await fetchInfo(settings);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problem.kind).toBe('endpoint-unreachable');
      expect(result.problem.message).toBe(
        'The CANFAR endpoint https://ws-uv.canfar.net/skaha is not usable: No credential found: set CANFAR_TOKEN or CANFAR_CERTIFICATE, then restart Jupyter.',
      );
    }
  });

  it('parses a healthy answer', async () => {
    const body = {
      endpoint: 'local',
      url: 'http://127.0.0.1:5555/skaha',
      user: 'me',
      credential: { kind: 'token', source: 'local' },
      ok: true,
      version: '0.1.0',
    };
    const { settings } = settingsWith(() => new Response(JSON.stringify(body), { status: 200 }));
    expect(await fetchInfo(settings)).toEqual({ ok: true, info: body });
  });
});

describe('fetchInfo version check', () => {
  const body = {
    endpoint: 'local',
    url: 'http://127.0.0.1:5555/skaha',
    credential: { kind: 'token', source: 'local' },
    ok: true,
    version: '0.2.0',
  };

  it('says nothing when the labextension and the server half are the same release', async () => {
    const { settings } = settingsWith(() => new Response(JSON.stringify(body), { status: 200 }));
    const result = await fetchInfo(settings, undefined, '0.2.0');
    expect(result.ok && result.info.versionWarning).toBe(undefined);
  });

  it('warns, naming both versions and what to do, when they differ or the server half is older', async () => {
    const { settings } = settingsWith(() => new Response(JSON.stringify(body), { status: 200 }));
    const result = await fetchInfo(settings, undefined, '0.3.0');
    expect(result.ok).toBe(true);
    expect(result.info?.versionWarning).toMatch(
      /^This JupyterLab extension is jupyterlab-canfar 0\.3\.0 but the Jupyter server extension is 0\.2\.0: .*pip install --force-reinstall jupyterlab_canfar/,
    );
    const old = settingsWith(
      () => new Response(JSON.stringify({ ...body, ok: false, version: undefined }), { status: 200 }),
    );
    const failed = await fetchInfo(old.settings, undefined, '0.3.0');
    expect(failed.ok).toBe(false);
    expect(failed.info?.versionWarning).toContain('it does not report its version');
  });
});
