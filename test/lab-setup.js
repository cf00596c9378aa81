// jsdom lacks a few browser APIs that JupyterLab widgets touch at import time.
if (typeof globalThis.structuredClone !== 'function') {
  globalThis.structuredClone = (value) => JSON.parse(JSON.stringify(value));
}
