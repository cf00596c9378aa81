/**
 * The version of this JupyterLab extension, and the check that the server half is the same release.
 *
 * The labextension build (scripts/build-labextension.mjs) writes package.json's version in for
 * `__CANFAR_LAB_VERSION__`; where the code runs unbuilt (jest) it is undefined and nothing is compared.
 */
import { nullTranslator } from '@jupyterlab/translation';
import type { TranslationBundle } from '@jupyterlab/translation';

declare const __CANFAR_LAB_VERSION__: string | undefined;

export const LAB_VERSION: string | undefined =
  typeof __CANFAR_LAB_VERSION__ === 'string' ? __CANFAR_LAB_VERSION__ : undefined;

/**
 * A warning when the labextension and the server half (`/canfar/api/info`'s `version`) are different
 * releases: one was upgraded without the other, or a second copy of either shadows the first.
 */
export function versionWarning(
  labVersion: string | undefined,
  serverVersion: string | undefined,
  trans: TranslationBundle = nullTranslator.load('jupyterlab_canfar'),
): string | undefined {
  if (!labVersion || labVersion === serverVersion) return undefined;
  return trans.__(
    'This JupyterLab extension is jupyterlab-canfar %1 but the Jupyter server extension is %2: they come from different installations. Reinstall jupyterlab_canfar with pip in the environment that runs Jupyter (`pip install --force-reinstall jupyterlab_canfar`, and `jupyter labextension list` shows which copy JupyterLab loads), then restart Jupyter and reload this page.',
    labVersion,
    serverVersion ?? trans.__('older than 0.1 (it does not report its version)'),
  );
}
