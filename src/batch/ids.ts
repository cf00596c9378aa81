import { sha256 } from './sha256';

const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';

/** `length` random lower-case base-36 characters. */
export function randomBase36(length: number): string {
  let out = '';
  while (out.length < length) {
    // 252 = 7 * 36: rejecting larger bytes keeps every character equally likely.
    for (const byte of crypto.getRandomValues(new Uint8Array(length))) {
      if (byte < 252 && out.length < length) out += BASE36[byte % 36];
    }
  }
  return out;
}

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/**
 * A batch id: `YYYYMMDD-HHMMSS-xxxx` (UTC time, 4 random base-36 characters). Ids sort by submit time,
 * and contain only lower-case letters, digits and `-`, so they are valid in session names and paths.
 */
export function newBatchId(now: Date = new Date(), suffix: string = randomBase36(4)): string {
  const date = `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}`;
  const time = `${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}`;
  return `${date}-${time}-${suffix}`;
}

export const BATCH_ID_PATTERN = /^\d{8}-\d{6}-[a-z0-9]{4}$/;

/**
 * Hex SHA-256 of the UTF-8 text. Browsers have `crypto.subtle` only in secure contexts (HTTPS or
 * localhost); elsewhere (JupyterLab over plain HTTP from another host) the TypeScript implementation.
 */
export async function sha256Hex(text: string): Promise<string> {
  const bytes = new TextEncoder().encode(text);
  const digest = crypto.subtle ? new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)) : sha256(bytes);
  return [...digest].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** A session-name-safe form of a file name: lower case, `[a-z0-9-]`, at most `max` characters. */
export function slugify(text: string, max = 40): string {
  const slug = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/g, '');
  return slug === '' ? 'batch' : slug;
}
