// A page object for JupyterLab: what a user does (open the app, create a notebook, type in a cell
// and run it, open the CANFAR side panel), each step waiting for what the user would wait for.
import { expect, type Locator, type Page } from '@playwright/test';

let workspaceCounter = 0;

export class JupyterLabPage {
  /** Uncaught exceptions and console errors of the page since this object was made. */
  readonly errors: string[] = [];

  constructor(
    readonly page: Page,
    readonly baseUrl: string,
  ) {
    page.on('pageerror', (error) => this.errors.push(`uncaught: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') this.errors.push(`console.error: ${message.text()}`);
    });
  }

  /** Opens JupyterLab in a fresh workspace (no layout restored from an earlier test) and waits for it. */
  async open(): Promise<void> {
    const workspace = `w${Date.now().toString(36)}${(workspaceCounter++).toString(36)}`;
    await this.page.goto(`${this.baseUrl}/lab/workspaces/${workspace}?reset`);
    // window.jupyterapp exists once the application object does (exposeAppInBrowser).
    await this.page.waitForFunction(() => 'jupyterapp' in window, null, { timeout: 60_000 });
    await this.page.evaluate(async () => {
      await (window as unknown as { jupyterapp: { restored: Promise<void> } }).jupyterapp.restored;
    });
    await expect(this.page.locator('#jp-main-dock-panel')).toBeVisible();
  }

  /** The kernel status in the status bar, e.g. "Python 3 (ipykernel) | Idle". */
  get kernelStatus(): Locator {
    return this.page.locator('#jp-main-statusbar .jp-StatusBar-TextItem', { hasText: '|' }).first();
  }

  /** Creates a notebook from the launcher's card for `kernel` and waits until its kernel is idle. */
  async newNotebook(kernel = 'Python 3 (ipykernel)'): Promise<Locator> {
    await this.page
      .locator('.jp-LauncherCard[data-category="Notebook"]', { hasText: kernel })
      .first()
      .click();
    const notebook = this.page.locator('.jp-NotebookPanel:visible').first();
    await expect(notebook).toBeVisible();
    await this.waitForKernelIdle();
    return notebook;
  }

  /** Typing before the kernel is idle is silently not executed: always wait for this first. */
  async waitForKernelIdle(timeout = 60_000): Promise<void> {
    await expect(this.kernelStatus).toContainText('Idle', { timeout });
  }

  /** Types `code` into the active notebook's cell `index`, runs it (Shift+Enter) and returns the cell. */
  async runCell(code: string, index = 0): Promise<Locator> {
    const cell = this.page.locator('.jp-NotebookPanel:visible .jp-Notebook .jp-Cell').nth(index);
    await cell.locator('.jp-InputArea-editor .cm-content').click();
    await this.page.keyboard.type(code);
    await this.page.keyboard.press('Shift+Enter');
    // The prompt shows a number once the kernel has executed the cell.
    await expect(cell.locator('.jp-InputPrompt')).toHaveText(/\[\d+\]/, { timeout: 60_000 });
    return cell;
  }

  /** The CANFAR tab in the left side bar. */
  get canfarTab(): Locator {
    return this.page.locator('.jp-SideBar .lm-TabBar-tab[data-id="jp-canfar-panel"]');
  }

  /** Opens the CANFAR side panel (if it is not already open) and returns it. */
  async openCanfarPanel(): Promise<Locator> {
    const panel = this.page.locator('#jp-canfar-panel');
    if (!(await panel.isVisible())) await this.canfarTab.click();
    await expect(panel).toBeVisible();
    return panel;
  }
}
