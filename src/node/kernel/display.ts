// Showing a value, and updating it in place, in whichever kernel runs this code. Each kernel has its own
// mechanism; none is imported (they are not dependencies): each is found on the global object at call time,
// because the kernel binds it to the cell being executed.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { mimeBundleOf, type MimeBundle } from './render';

/** Which JavaScript kernel runs this code ('node' = none: a script, a REPL, a test). */
export type KernelKind = 'deno' | 'tslab' | 'ijavascript' | 'node';

interface DenoJupyter {
  display(value: unknown, options?: { raw?: boolean; update?: boolean; display_id?: string }): Promise<void>;
}

/** tslab's internal writer of display_data / update_display_data (tslab/dist/jupyter.js). */
type TslabWriter = (
  content: { data: MimeBundle; metadata: Record<string, unknown>; transient: { display_id?: string } },
  update?: boolean,
) => void;

interface IJavascriptDisplay {
  mime(bundle: MimeBundle): void;
}
interface IJavascriptContext {
  mime(bundle: MimeBundle): void;
  display(id?: string): IJavascriptDisplay;
}

type Globals = {
  Deno?: { jupyter?: DenoJupyter };
  __tslab__?: { require?: (id: string) => unknown };
  $$?: IJavascriptContext;
};

const globals = () => globalThis as unknown as Globals;

function denoJupyter(): DenoJupyter | undefined {
  const deno = globals().Deno;
  if (!deno) return undefined;
  try {
    // Outside `deno jupyter` the getter throws ("only available in `deno jupyter` subcommand").
    const jupyter = deno.jupyter;
    return typeof jupyter?.display === 'function' ? jupyter : undefined;
  } catch {
    return undefined;
  }
}

/**
 * tslab binds the current cell's writer to `lastWriteDisplayData` of its `dist/jupyter.js` module; its
 * public `display` sends one mime type per message, so for a full bundle (HTML + JSON + text) we use the
 * writer itself, found among the loaded modules.
 */
function tslabWriter(): TslabWriter | undefined {
  if (!globals().__tslab__) return undefined;
  let cache: Record<string, { exports?: { lastWriteDisplayData?: unknown } } | undefined>;
  try {
    // Node's module cache is one object whichever require() reads it; this works in the ESM build too.
    cache = createRequire(join(process.cwd(), 'index.js')).cache as typeof cache;
  } catch {
    return undefined;
  }
  for (const [file, module] of Object.entries(cache)) {
    if (/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(file)) {
      const writer = module?.exports?.lastWriteDisplayData;
      if (typeof writer === 'function') return writer as TslabWriter;
    }
  }
  return undefined;
}

/** tslab's public display (HTML only), when its internal writer cannot be found. */
function tslabPublicDisplay():
  { newDisplay(): { html(s: string): void; text(s: string): void } } | undefined {
  try {
    return globals().__tslab__?.require?.('tslab') as ReturnType<typeof tslabPublicDisplay>;
  } catch {
    return undefined;
  }
}

function ijavascript(): IJavascriptContext | undefined {
  const context = globals().$$;
  return context && typeof context.mime === 'function' && typeof context.display === 'function'
    ? context
    : undefined;
}

/** The kernel this code runs in, found from the globals each kernel sets. */
export function kernelKind(): KernelKind {
  if (denoJupyter()) return 'deno';
  if (globals().__tslab__) return 'tslab';
  if (ijavascript()) return 'ijavascript';
  return 'node';
}

/** How long a Deno display waits for the kernel to publish it (see liveDisplay). */
const DENO_FLUSH_MS = 50;

let displayCounter = 0;

/** A display id unique in this process. */
export function newDisplayId(): string {
  displayCounter += 1;
  return `canfar-${process.pid}-${Date.now().toString(36)}-${displayCounter}`;
}

/**
 * One output area that can be replaced in place: the first `show()` creates it, later ones update it
 * (Jupyter display ids: `display_data`, then `update_display_data` with the same id). In plain node,
 * `show()` does nothing and returns false (callers print text themselves).
 */
export interface LiveDisplay {
  readonly kernel: KernelKind;
  readonly id: string;
  /** True if the kernel showed it. */
  show(value: unknown): Promise<boolean>;
}

export function liveDisplay(id = newDisplayId()): LiveDisplay {
  const kernel = kernelKind();
  let shown = false;
  let ijsDisplay: IJavascriptDisplay | undefined;
  let tslabFallback: { html(s: string): void; text(s: string): void } | undefined;
  return {
    kernel,
    id,
    async show(value: unknown): Promise<boolean> {
      const bundle = mimeBundleOf(value);
      const update = shown;
      switch (kernel) {
        case 'deno': {
          const jupyter = denoJupyter();
          if (!jupyter) return false;
          await jupyter.display(bundle, { raw: true, display_id: id, update });
          // Deno's REPL hands outputs to its kernel thread through a queue, and the kernel can report the
          // cell finished before the queue is drained: headless runners then drop the output. A short pause
          // lets the queue drain while the cell still runs (a heuristic: Deno offers no flush).
          await new Promise((resolve) => setTimeout(resolve, DENO_FLUSH_MS));
          break;
        }
        case 'tslab': {
          const writer = tslabWriter();
          if (writer) {
            writer({ data: bundle, metadata: {}, transient: { display_id: id } }, update);
          } else {
            // Degraded: one mime type per message through the public API (still updated in place).
            tslabFallback ??= tslabPublicDisplay()?.newDisplay();
            if (!tslabFallback) return false;
            if (bundle['text/html']) tslabFallback.html(bundle['text/html']);
            else tslabFallback.text(bundle['text/plain']);
          }
          break;
        }
        case 'ijavascript': {
          const context = ijavascript();
          if (!context) return false;
          // The first mime() on a display with an id sends display_data, the next ones update_display_data.
          ijsDisplay ??= context.display(id);
          ijsDisplay.mime(bundle);
          break;
        }
        default:
          return false;
      }
      shown = true;
      return true;
    },
  };
}

/**
 * Shows a value richly (HTML table, JSON, text) as a new output of the current cell; in plain node,
 * prints its text to stdout. tslab prints cell results as text only, so there `await display(await
 * sessions())` is the way to a table. In Deno the cell's last value renders by itself, but Deno (2.9) can
 * publish that execute_result after the kernel reports idle, which headless runners (nbconvert) then drop;
 * an explicit display is sent while the cell runs. Resolves to nothing, so that the cell shows no
 * `true`/`undefined` after the table.
 */
export async function display(value: unknown): Promise<void> {
  const kernel = kernelKind();
  if (kernel === 'node') {
    process.stdout.write(`${mimeBundleOf(value)['text/plain']}\n`);
    return;
  }
  if (kernel === 'ijavascript') {
    ijavascript()?.mime(mimeBundleOf(value));
    return;
  }
  await liveDisplay().show(value);
}
