// The TypeScript SHA-256 (used where browsers lack crypto.subtle) against node:crypto.
import { createHash, randomBytes } from 'node:crypto';

import { sha256Hex } from './ids';
import { sha256 } from './sha256';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const reference = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

test('matches node:crypto on random inputs of every length 0..300 (all padding cases) and on 1 MB', () => {
  for (let length = 0; length <= 300; length++) {
    const input = new Uint8Array(randomBytes(length));
    expect({ length, digest: hex(sha256(input)) }).toEqual({ length, digest: reference(input) });
  }
  const large = new Uint8Array(randomBytes(1024 * 1024));
  expect(hex(sha256(large))).toBe(reference(large));
});

test('the FIPS 180-4 examples', () => {
  const ascii = (text: string) => new TextEncoder().encode(text);
  expect(hex(sha256(ascii('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  expect(hex(sha256(ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe(
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  );
});

test('sha256Hex falls back to it when crypto.subtle is missing (a browser outside a secure context)', async () => {
  const text = 'print("héllo")\n'.repeat(100);
  const withSubtle = await sha256Hex(text);
  Object.defineProperty(globalThis.crypto, 'subtle', { value: undefined, configurable: true });
  try {
    expect(globalThis.crypto.subtle).toBeUndefined();
    expect(await sha256Hex(text)).toBe(withSubtle);
  } finally {
    delete (globalThis.crypto as { subtle?: unknown }).subtle;
  }
  expect(globalThis.crypto.subtle).toBeDefined();
  expect(withSubtle).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
});
