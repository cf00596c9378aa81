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
    /** The server's token, if it asks for one: the first page opened logs in with it, as a user's link does. */
    readonly token?: string,
  ) {
    page.on('pageerror', (error) => this.errors.push(`uncaught: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      // "Failed to load resource" does not say which: its URL does.
      const url = message.text().startsWith('Failed to load resource') ? ` (${message.location().url})` : '';
      this.errors.push(`console.error: ${message.text()}${url}`);
    });
  }

  /** Opens JupyterLab in a fresh workspace (no layout restored from an earlier test) and waits for it. */
  async open(): Promise<void> {
    const workspace = `w${Date.now().toString(36)}${(workspaceCounter++).toString(36)}`;
    const login = this.token ? `&token=${encodeURIComponent(this.token)}` : '';
    await this.page.goto(`${this.baseUrl}/lab/workspaces/${workspace}?reset${login}`);
    // window.jupyterapp exists once the application object does (exposeAppInBrowser).
    await this.page.waitForFunction(() => 'jupyterapp' in window, null, { timeout: 60_000 });
    await this.page.evaluate(async () => {
      await (window as unknown as { jupyterapp: { restored: Promise<void> } }).jupyterapp.restored;
    });
    await expect(this.page.locator('#jp-main-dock-panel')).toBeVisible();
  }

  /** Switches the theme from the Settings menu (Settings > Theme > `theme`) and waits until it applies. */
  async setTheme(theme: string): Promise<void> {
    await this.page.locator('.lm-MenuBar-itemLabel', { hasText: 'Settings' }).click();
    await this.page.locator('.lm-Menu-itemLabel', { hasText: /^Theme$/ }).click();
    await this.page.locator('.lm-Menu-itemLabel', { hasText: theme }).first().click();
    await expect(this.page.locator('body')).toHaveAttribute('data-jp-theme-name', theme);
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

  /**
   * Saves the active document (Ctrl+S) and waits until its tab no longer shows unsaved changes. An
   * untitled document asks for a name on its first save: `name` (with extension) answers, else the
   * proposed name is kept.
   */
  async save(name?: string): Promise<void> {
    const dirty = this.page.locator('.lm-TabBar-tab.lm-mod-current.jp-mod-dirty');
    const rename = this.page.locator('.jp-Dialog', { hasText: 'Rename file' });
    await this.page.keyboard.press('Control+s');
    await expect.poll(async () => (await rename.isVisible()) || (await dirty.count()) === 0).toBe(true);
    if (await rename.isVisible()) {
      if (name) await rename.locator('input[type="text"], input:not([type])').first().fill(name);
      await rename.locator('.jp-Dialog-footer button', { hasText: 'Rename and Save' }).click();
    }
    await expect(dirty).toHaveCount(0);
  }

  /** Runs a command the way a user finds it: the command palette, its label typed, Enter. */
  async runCommandFromPalette(label: string): Promise<void> {
    const palette = this.page.locator('#command-palette');
    // The palette closes when something else takes the focus (a notebook starting its kernel, a toast):
    // open it again then, as a user would.
    for (let attempt = 1; ; attempt++) {
      const timeout = attempt < 3 ? 10_000 : 30_000;
      try {
        await this.page.keyboard.press('Control+Shift+C');
        await expect(palette).toBeVisible({ timeout });
        await palette.locator('.lm-CommandPalette-input').fill(label, { timeout });
        await palette.locator('.lm-CommandPalette-item', { hasText: label }).first().click({ timeout });
        return;
      } catch (error) {
        if (attempt >= 3) throw error;
        if (await palette.isVisible()) await this.page.keyboard.press('Escape');
      }
    }
  }

  /** Clicks the button labelled `label` of the dialog on top and waits for that dialog to close. */
  async acceptDialog(label: string | RegExp): Promise<void> {
    const dialog = this.page.locator('.jp-Dialog').last();
    await expect(dialog).toBeVisible();
    const button = dialog.locator('.jp-Dialog-footer button', { hasText: label });
    await expect(button).toBeEnabled();
    await button.click();
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
