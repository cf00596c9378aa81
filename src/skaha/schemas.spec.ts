import {
  contextSchema,
  imageListSchema,
  parseBody,
  parseCores,
  parseEventsTable,
  parseRamGB,
  platformSessionListSchema,
  sessionListSchema,
  sessionSchema,
  statsSchema,
} from './index';

describe('sessions', () => {
  test('the current form: strings become numbers and dates, raw is kept', () => {
    const wire = {
      id: 'k3x9q2ma',
      userid: 'jdoe',
      runAsUID: '20001',
      runAsGID: '20001',
      supplementalGroups: [30012],
      image: 'images.canfar.net/skaha/astroml:latest',
      type: 'headless',
      status: 'Completed',
      name: 'sweep-2',
      startTime: '2026-07-21T18:09:21Z',
      expiryTime: '2026-08-04T18:09:21Z',
      connectURL: '',
      requestedRAM: '8.59',
      requestedCPUCores: '2',
      requestedGPUCores: '0',
      isFixedResources: true,
    };
    const session = sessionSchema.parse(wire);
    expect(session).toEqual({
      id: 'k3x9q2ma',
      userid: 'jdoe',
      runAsUID: '20001',
      runAsGID: '20001',
      supplementalGroups: [30012],
      image: 'images.canfar.net/skaha/astroml:latest',
      type: 'headless',
      status: 'Completed',
      name: 'sweep-2',
      startTime: new Date('2026-07-21T18:09:21Z'),
      expiryTime: new Date('2026-08-04T18:09:21Z'),
      requestedRAM: 8.59,
      requestedCPUCores: 2,
      requestedGPUCores: 0,
      isFixedResources: true,
      raw: wire,
    });
  });

  test('older forms: quantities with units, <none>, coresInUse, Succeeded', () => {
    const [a, b, c] = sessionListSchema.parse([
      { id: 'a1', name: 'x', status: 'Succeeded', ramInUse: '101Mi', coresInUse: '0m', requestedRAM: '8G' },
      {
        id: 'b2',
        name: 'y',
        status: 'Error',
        ramInUse: '<none>',
        cpuCoresInUse: '<none>',
        startTime: '<none>',
      },
      { id: 'c3', name: 'z', status: 'Queued', type: 'desktop-app', isFixedResources: 'false' },
    ]);
    expect(a).toMatchObject({ status: 'Completed', ramInUse: 0.105906, cpuCoresInUse: 0, requestedRAM: 8 });
    expect(b.status).toBe('Error');
    expect(b).not.toHaveProperty('ramInUse');
    expect(b).not.toHaveProperty('cpuCoresInUse');
    expect(b).not.toHaveProperty('startTime');
    expect(c).toMatchObject({ status: 'Unknown', type: 'desktop-app', isFixedResources: false });
  });

  test('value parsers', () => {
    expect(parseRamGB('32Gi')).toBeCloseTo(34.359738, 5);
    expect(parseRamGB('1480.25G')).toBe(1480.25);
    expect(parseRamGB('4.29')).toBe(4.29);
    expect(parseRamGB('0m')).toBe(0);
    expect(parseRamGB('lots')).toBeUndefined();
    expect(parseCores('500m')).toBe(0.5);
    expect(parseCores(8.0)).toBe(8);
    expect(parseCores('<none>')).toBeUndefined();
  });

  test('a session without id is an invalid response naming the field', () => {
    expect(() => parseBody(sessionListSchema, '[{"name":"x"}]', 'list sessions')).toThrow(
      /list sessions: unexpected answer: .*at \[0\]\.id/,
    );
  });
});

describe('context, stats, images', () => {
  test('context, current form', () => {
    const context = contextSchema.parse({
      cores: { default: 2, defaultRequest: 1, defaultLimit: 8, options: [1, 2, 4, 8, 16] },
      memoryGB: { default: 8, defaultRequest: 4, defaultLimit: 32, options: [1, 2, 4, 8, 16, 32] },
      gpus: { options: [1, 2, 4] },
      maxInteractiveSessions: 3,
    });
    expect(context).toEqual({
      cores: { default: 2, defaultRequest: 1, defaultLimit: 8, options: [1, 2, 4, 8, 16] },
      memoryGB: { default: 8, defaultRequest: 4, defaultLimit: 32, options: [1, 2, 4, 8, 16, 32] },
      gpus: { options: [1, 2, 4] },
      maxInteractiveSessions: 3,
    });
  });

  test('context, LimitRange form of July 2026; maxInteractiveSessions as an integer or the older string', () => {
    const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    const wire = {
      cores: { default: 1, defaultRequest: 1, defaultLimit: 16, options: range(16) },
      memoryGB: { default: 4, defaultRequest: 4, defaultLimit: 32, options: range(192) },
      gpus: { options: range(7) },
      maxInteractiveSessions: 3,
    };
    expect(contextSchema.parse(wire)).toEqual(wire);
    expect(contextSchema.parse({ ...wire, maxInteractiveSessions: '3' }).maxInteractiveSessions).toBe(3);
    expect(contextSchema.parse({ ...wire, maxInteractiveSessions: 'many' })).not.toHaveProperty(
      'maxInteractiveSessions',
    );
  });

  test('view=all rows: {userid, type, status, startTime?}', () => {
    const rows = parseBody(
      platformSessionListSchema,
      '[{"userid":"jdoe","type":"headless","status":"Pending"},' +
        '{"userid":"asmith","type":"notebook","status":"Running","startTime":"2026-07-31T10:00:00Z"}]',
      "list every user's sessions",
    );
    expect(rows.map(({ raw: _raw, ...row }) => row)).toEqual([
      { userid: 'jdoe', type: 'headless', status: 'Pending' },
      { userid: 'asmith', type: 'notebook', status: 'Running', startTime: new Date('2026-07-31T10:00:00Z') },
    ]);
  });

  test('context, older flat form', () => {
    const context = contextSchema.parse({
      defaultCores: 2,
      defaultCoresHeadless: 1,
      availableCores: [1, 2, 4],
      defaultRAM: 16,
      defaultRAMHeadless: 4,
      availableRAM: [4, 8, 16],
      availableGPUs: [],
    });
    expect(context.cores).toEqual({ default: 2, defaultRequest: 1, defaultLimit: 4, options: [1, 2, 4] });
    expect(context.memoryGB.options).toEqual([4, 8, 16]);
    expect(context.gpus.options).toEqual([]);
  });

  test('a context without options is refused', () => {
    expect(() => parseBody(contextSchema, '{"cores":{}}', 'resource context')).toThrow(
      /resource context: unexpected answer/,
    );
    expect(() => parseBody(contextSchema, '{}', 'resource context')).toThrow(/needs "cores.options"/);
  });

  test('stats', () => {
    const stats = statsSchema.parse({
      cores: {
        requestedCPUCores: 377.0,
        cpuCoresAvailable: 960.0,
        maxCPUCores: { cpuCores: 8.0, withRam: '32Gi' },
      },
      ram: { requestedRAM: '1480.25G', ramAvailable: '5032G', maxRAM: { ram: '32Gi', withCPUCores: 8.0 } },
    });
    expect(stats.cores).toEqual({ requested: 377, available: 960, maxPerSession: 8 });
    expect(stats.ram.requestedGB).toBe(1480.25);
    expect(stats.ram.availableGB).toBe(5032);
    expect(stats.ram.maxPerSessionGB).toBeCloseTo(34.36, 2);
  });

  test('images', () => {
    expect(
      imageListSchema.parse([
        {
          id: 'images.canfar.net/skaha/terminal:1.1.2',
          types: ['headless', 'notebook'],
          digest: 'sha256:ab',
        },
        { id: 'images.canfar.net/skaha/x:1', types: ['desktop'] },
      ]),
    ).toEqual([
      { id: 'images.canfar.net/skaha/terminal:1.1.2', types: ['headless', 'notebook'], digest: 'sha256:ab' },
      { id: 'images.canfar.net/skaha/x:1', types: ['desktop'] },
    ]);
  });
});

describe('events table', () => {
  test('<none> and empty bodies give no events', () => {
    expect(parseEventsTable('<none>\n')).toEqual([]);
    expect(parseEventsTable('')).toEqual([]);
  });

  test('columns are located from the header; messages keep their spaces', () => {
    const table = [
      'TYPE      REASON             MESSAGE                                                   FIRST-TIME             LAST-TIME',
      'Normal    Scheduled          Successfully assigned skaha-workload/x to node12          2026-07-21T18:09:21Z   2026-07-21T18:09:21Z',
      'Warning   Failed             Failed to pull image "images.canfar.net/nope:1": denied   2026-07-21T18:09:25Z   2026-07-21T18:11:02Z',
      'Normal    BackOff            Back-off pulling image                                    <none>                 2026-07-21T18:11:02Z',
      '',
    ].join('\n');
    expect(parseEventsTable(table)).toEqual([
      {
        type: 'Normal',
        reason: 'Scheduled',
        message: 'Successfully assigned skaha-workload/x to node12',
        firstTime: '2026-07-21T18:09:21Z',
        lastTime: '2026-07-21T18:09:21Z',
      },
      {
        type: 'Warning',
        reason: 'Failed',
        message: 'Failed to pull image "images.canfar.net/nope:1": denied',
        firstTime: '2026-07-21T18:09:25Z',
        lastTime: '2026-07-21T18:11:02Z',
      },
      {
        type: 'Normal',
        reason: 'BackOff',
        message: 'Back-off pulling image',
        lastTime: '2026-07-21T18:11:02Z',
      },
    ]);
  });

  test('a row wider than its columns is split on spaces instead', () => {
    const table = [
      'TYPE     REASON    MESSAGE          FIRST-TIME             LAST-TIME',
      'Warning  FailedScheduling  0/3 nodes are available: insufficient cpu  2026-07-21T18:09:21Z  2026-07-21T18:10:21Z',
    ].join('\n');
    expect(parseEventsTable(table)).toEqual([
      {
        type: 'Warning',
        reason: 'FailedScheduling',
        message: '0/3 nodes are available: insufficient cpu',
        firstTime: '2026-07-21T18:09:21Z',
        lastTime: '2026-07-21T18:10:21Z',
      },
    ]);
  });
});
