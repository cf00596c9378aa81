/**
 * How a parameter value travels to a replica in its `CANFAR_PARAM_<NAME>` environment variable.
 *
 * Skaha silently drops an env entry whose value is empty or contains `=` (skaha-v1.md), and a value with a
 * newline or non-ASCII text is at the mercy of every layer between the form body and the container. So a
 * value travels as written only when it is plain printable ASCII without `=`; anything else travels as
 * `canfar-b64:` followed by the base64url (no padding, so no `=`) of its UTF-8 bytes. The replica's runtime
 * (Python and JS/TS scripts) decodes that form before typing the value like the notebook's default.
 */

/** The prefix of an encoded value; a plain value that starts with it is encoded too, so decoding is exact. */
export const ENCODED_PARAM_PREFIX = 'canfar-b64:';

/** Travels as written: non-empty printable ASCII with no `=`, and not starting with the prefix. */
function travelsAsWritten(value: string): boolean {
  return value !== '' && /^[\x20-\x3c\x3e-\x7e]+$/.test(value) && !value.startsWith(ENCODED_PARAM_PREFIX);
}

/** The env value that carries `value` intact (see the module comment). */
export function encodeParamEnv(value: string): string {
  if (travelsAsWritten(value)) return value;
  let binary = '';
  for (const byte of new TextEncoder().encode(value)) binary += String.fromCharCode(byte);
  return ENCODED_PARAM_PREFIX + btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The value an env entry carries: the inverse of {@link encodeParamEnv} (a plain value is returned as is). */
export function decodeParamEnv(raw: string): string {
  if (!raw.startsWith(ENCODED_PARAM_PREFIX)) return raw;
  const body = raw.slice(ENCODED_PARAM_PREFIX.length).replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(body + '='.repeat((4 - (body.length % 4)) % 4));
  return new TextDecoder().decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)));
}
