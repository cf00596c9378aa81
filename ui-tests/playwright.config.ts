// Real-browser tests: Debian's Chromium against a real JupyterLab 4.6 (ui-tests/app), a real
// ipykernel and the local Skaha server. Run from the repository root with `npm run test:ui`.
import { defineConfig } from '@playwright/test';
import { CHROMIUM_LAUNCH } from './chromium';

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  // Each test starts its own Jupyter server and kernel; two cores do not run two of those well.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 180_000,
  expect: { timeout: 30_000 },
  reporter: [['list'], ['html', { outputFolder: 'playwright-report', open: 'never' }]],
  use: {
    viewport: { width: 1280, height: 800 },
    launchOptions: CHROMIUM_LAUNCH,
    // Video needs a downloaded ffmpeg; traces do not.
    video: 'off',
    trace: 'retain-on-failure',
    screenshot: 'on',
    actionTimeout: 30_000,
    navigationTimeout: 60_000,
  },
});
