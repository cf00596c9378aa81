import {
  buildContext,
  checkSessionIdLabel,
  eventsTable,
  gibToGbText,
  HttpError,
  parseCreateRequest,
  parseEnvEntries,
  productionContext,
} from './protocol';
import { defaultStateDir } from './state';

const context = buildContext(4, 64, 3);
const parse = (form: Record<string, string>, active = 0) =>
  parseCreateRequest(new URLSearchParams(form), context, 'jdoe', active);
const IMAGE = 'images.canfar.net/skaha/terminal:1.1.2';

describe('POST /session validation (service order and messages)', () => {
  test('the first failing rule wins, in the order the service checks them', () => {
    // image before type before name: a request wrong in all three reports the image.
    expect(() => parse({ type: 'x', name: 'a_b' })).toThrow("Missing parameter 'image'");
    expect(() => parse({ image: 'docker.io/x', type: 'x', name: 'a_b' })).toThrow('Invalid session type: x');
    expect(() => parse({ image: 'docker.io/x', name: 'a_b' })).toThrow(
      "session image 'docker.io/x' must come from one of [images.canfar.net]",
    );
    expect(() => parse({ image: IMAGE, name: 'a_b', cores: '99' })).toThrow("Invalid value for 'cores': 99");
    expect(() => parse({ image: IMAGE, name: 'a_b' })).toThrow(
      "name can only contain alpha-numeric chars and '-'",
    );
    expect(() => parse({ image: IMAGE, name: 'ok', type: 'notebook' }, 3)).toThrow(
      'User jdoe has reached the maximum of 3 active sessions.',
    );
  });

  test('type is case-insensitive and defaults to headless; blank cores/ram/gpus count as absent', () => {
    expect(parse({ image: IMAGE, name: 'x', type: ' Notebook ' }).type).toBe('notebook');
    const flexible = parse({ image: IMAGE, name: 'Mixed-Case', cores: ' ', ram: '', gpus: '' });
    expect(flexible).toMatchObject({
      type: 'headless',
      fixed: false,
      cores: 1,
      ramGiB: 4,
      gpus: 0,
      name: 'mixed-case',
    });
  });

  test('names are stored lower-case; a leading "-" is a 400, a trailing "-" or over 63 characters a 500', () => {
    expect(parse({ image: IMAGE, name: 'A'.repeat(63) }).name).toBe('a'.repeat(63));
    const status = (name: string) => {
      try {
        parse({ image: IMAGE, name });
        return 200;
      } catch (error) {
        return [(error as HttpError).status, (error as HttpError).message];
      }
    };
    expect(status('-abc')).toEqual([400, 'canfar.net/name label value cannot be blank']);
    expect(status('-')).toEqual([400, 'canfar.net/name label value cannot be blank']);
    expect(status('abc-')).toEqual([500, expect.stringContaining('pod hostname "abc-" is invalid')]);
    expect(status('A'.repeat(64))).toEqual([500, expect.stringContaining('at most 63 characters')]);
    // The character rule comes first, the label rules after it.
    expect(status('-a_b')).toEqual([400, "name can only contain alpha-numeric chars and '-'"]);
  });

  test('session ids must be Kubernetes label values', () => {
    for (const id of ['abcdefgh', 'a', 'a.b_c-d', 'x'.repeat(63)])
      expect(() => checkSessionIdLabel(id)).not.toThrow();
    for (const id of ['-abc', 'abc-', 'a b', 'a/b', '_a', 'x'.repeat(64)])
      expect(() => checkSessionIdLabel(id)).toThrow(/invalid session id .*a valid label must/);
  });

  test('cmd, args and env apply to headless sessions only', () => {
    const interactive = parse({ image: IMAGE, name: 'nb', type: 'notebook', cmd: 'sh', args: 'x' });
    expect(interactive).toMatchObject({ cmd: undefined, args: [] });
  });
});

test('env entries are kept only when the Java split on "=" gives exactly two pieces', () => {
  expect(parseEnvEntries(['A=1', 'B=', 'C=x=y', 'D=x=', '=E', 'F', 'G==', 'H= spaced '])).toEqual({
    A: '1',
    D: 'x',
    H: ' spaced ',
  });
});

test('requestedRAM is GiB shown as decimal GB with two decimals', () => {
  expect([1, 4, 8, 32].map(gibToGbText)).toEqual(['1.07', '4.29', '8.59', '34.36']);
});

test("production context: CANFAR's LimitRange shape", () => {
  const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  expect(productionContext(3)).toEqual({
    cores: { default: 1, defaultRequest: 1, defaultLimit: 16, options: range(16) },
    memoryGB: { default: 4, defaultRequest: 4, defaultLimit: 32, options: range(192) },
    gpus: { options: range(7) },
    maxInteractiveSessions: 3,
  });
});

test('capacity context: options never exceed the capacity, so every valid request fits eventually', () => {
  const small = buildContext(2, 5, 1);
  expect(small.cores.options).toEqual([1, 2]);
  expect(small.memoryGB.options).toEqual([1, 2, 4]);
  expect(small.memoryGB).toMatchObject({ default: 4, defaultRequest: 4, defaultLimit: 4 });
});

test('events table: kubectl custom-columns layout, <none> when empty', () => {
  expect(eventsTable([])).toBe('<none>\n');
  const table = eventsTable([
    { type: 'Normal', reason: 'Started', message: 'go', firstTime: 't1', lastTime: 't2' },
    { type: 'Warning', reason: 'Failed', message: 'exit code 3', firstTime: 't3', lastTime: 't4' },
  ]);
  expect(table).toBe(
    'TYPE      REASON    MESSAGE       FIRST-TIME   LAST-TIME\n' +
      'Normal    Started   go            t1           t2\n' +
      'Warning   Failed    exit code 3   t3           t4\n',
  );
});

test('defaultStateDir follows XDG_DATA_HOME when absolute, else ~/.local/share', () => {
  expect(defaultStateDir({ XDG_DATA_HOME: '/data' }, '/home/u')).toBe('/data/jupyterlab-canfar/local');
  expect(defaultStateDir({ XDG_DATA_HOME: 'relative' }, '/home/u')).toBe(
    '/home/u/.local/share/jupyterlab-canfar/local',
  );
  expect(defaultStateDir({}, '/home/u')).toBe('/home/u/.local/share/jupyterlab-canfar/local');
});
