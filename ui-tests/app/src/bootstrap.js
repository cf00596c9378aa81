// Entry point of the test application, a federated host as JupyterLab's own build is.
//
// Prebuilt ("federated") extensions are loaded exactly as a user's JupyterLab loads them: the server
// lists them in page_config.federated_extensions; each one's remoteEntry script registers a container
// under window._JUPYTERLAB[name] and offers its shared modules. All containers must join the shared
// scope BEFORE any shared module (React, @lumino/*, @jupyterlab/* tokens) is evaluated, so that one copy
// of each singleton serves the whole page: hence this file imports nothing statically and the
// application itself (index.js) is a dynamic import at the end.

const config = JSON.parse(document.getElementById('jupyter-config-data')?.textContent || '{}');

// The bundle's chunks live under the server's static URL, which depends on base_url.
// eslint-disable-next-line no-undef
__webpack_public_path__ = `${config.fullStaticUrl}/`;

function addScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.async = true;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`Could not load the extension entry ${url}`));
    script.src = url;
    document.head.appendChild(script);
  });
}

async function joinSharedScope(extension) {
  await addScript(`${config.fullLabextensionsUrl}/${extension.name}/${extension.load}`);
  // eslint-disable-next-line no-undef
  await __webpack_init_sharing__('default');
  const container = window._JUPYTERLAB?.[extension.name];
  if (!container) {
    throw new Error(`${extension.name}: ${extension.load} ran but registered no module federation container`);
  }
  // eslint-disable-next-line no-undef
  await container.init(__webpack_share_scopes__.default);
}

void (async () => {
  const federated = config.federated_extensions ?? [];
  const outcomes = await Promise.allSettled(federated.map(joinSharedScope));
  const loaded = [];
  outcomes.forEach((outcome, i) => {
    if (outcome.status === 'fulfilled') loaded.push(federated[i]);
    else console.error(outcome.reason);
  });
  if (document.readyState === 'loading') {
    await new Promise((resolve) => document.addEventListener('DOMContentLoaded', resolve, { once: true }));
  }
  const { main } = await import('./index.js');
  await main(loaded);
})();
