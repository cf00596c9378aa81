import { ENCODED_PARAM_PREFIX, decodeParamEnv, encodeParamEnv } from './param-env';

describe('parameter values in CANFAR_PARAM_* env entries', () => {
  it('leaves plain printable ASCII readable', () => {
    for (const value of ['0.5', 'gaussian', 'a b c', '[1, 2]', "{'k': 3}", '-', 'C:\\x']) {
      expect(encodeParamEnv(value)).toBe(value);
    }
  });

  it('encodes what Skaha would drop or mangle, with no "=" in the result', () => {
    for (const value of ['', 'SELECT * FROM t WHERE x=1', 'line 1\nline 2', 'Ω Centauri', '"quoted"=\'x\'']) {
      const sent = encodeParamEnv(value);
      expect(sent.startsWith(ENCODED_PARAM_PREFIX)).toBe(true);
      expect(sent).not.toContain('=');
      expect(sent).toMatch(/^[\x21-\x7e]+$/);
      expect(decodeParamEnv(sent)).toBe(value);
    }
  });

  it('encodes a plain value that starts with the prefix, so decoding is exact', () => {
    const value = `${ENCODED_PARAM_PREFIX}abc`;
    expect(encodeParamEnv(value)).not.toBe(value);
    expect(decodeParamEnv(encodeParamEnv(value))).toBe(value);
  });

  it('round-trips every length (padding) and every byte range', () => {
    const alphabet = 'aé€😀=\n\t"\'\\ ';
    for (let length = 0; length < 40; length += 1) {
      const value = Array.from({ length }, (_, i) => [...alphabet][(i * 7) % [...alphabet].length]).join('');
      expect(decodeParamEnv(encodeParamEnv(value))).toBe(value);
    }
  });
});
