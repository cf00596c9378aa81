// jsdom lacks a few browser APIs that JupyterLab widgets touch at import time.
if (typeof globalThis.structuredClone !== 'function') {
  globalThis.structuredClone = (value) => JSON.parse(JSON.stringify(value));
}
// jsdom has no asynchronous Clipboard API; JupyterLab warns at import time without one.
if (typeof navigator !== 'undefined' && !navigator.clipboard) {
  Object.defineProperty(navigator, 'clipboard', {
    configurable: true,
    value: {
      read: async () => [],
      readText: async () => '',
      write: async () => undefined,
      writeText: async () => undefined,
    },
  });
}
// jsdom's crypto lacks `subtle` (src/batch hashes the notebook with SHA-256): use Node's Web Crypto.
if (!globalThis.crypto || !globalThis.crypto.subtle) {
  Object.defineProperty(globalThis, 'crypto', {
    configurable: true,
    value: require('node:crypto').webcrypto,
  });
}
