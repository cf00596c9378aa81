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
