// Real-browser tests: Debian's Chromium against a real JupyterLab 4.6 (ui-tests/app), a real
// ipykernel and the local Skaha server. Run from the repository root with `npm run test:ui`.
import { defineConfig } from '@playwright/test';

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
    // No downloaded browsers on these machines (`npx playwright install` cannot work): Debian's.
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage',
      ],
    },
    // Video needs a downloaded ffmpeg; traces do not.
    video: 'off',
    trace: 'retain-on-failure',
    screenshot: 'on',
    actionTimeout: 30_000,
    navigationTimeout: 60_000,
  },
});
