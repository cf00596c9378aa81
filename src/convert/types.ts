/** The public types of the notebook converter (contract: /tmp/contracts.md, "src/convert"). */

/** How IPython magics and shell escapes become code. */
export type MagicsPolicy = 'translate' | 'ipython' | 'comment';

/** Under `translate`, a magic with no plain-Python translation: IPython runs it (default), error, or commented. */
export type UnknownMagics = 'ipython' | 'error' | 'comment';

export interface ConvertOptions {
  /**
   * `translate` (default): magics become plain Python where they can; the others (the notebook's own magics,
   * `%load_ext`, ...) run in an IPython shell the script starts itself (see `ConversionResult.needsIPython`).
   * `ipython`: every magic as nbconvert writes it, a `get_ipython()` call, run by that IPython shell.
   * `comment`: every magic is commented out, as jupytext does.
   * Under every policy the script runs with `python3`.
   */
  policy?: MagicsPolicy;
  /**
   * Under `translate`, a magic with no plain-Python translation: run by IPython (`ipython`, default: the
   * notebook then needs IPython in the image), an error (`error`), or commented out (`comment`).
   */
  unknownMagics?: UnknownMagics;
  /**
   * Python: how the script gets its runtime. `module` (default): two lines import it from
   * `pylib/canfar_batch/_runtime.py` beside the script (a batch folder has it: {@link pythonRuntimeFiles});
   * `inline`: the runtime's code is written into the script, which then runs alone (`canfar-lab convert`).
   */
  runtime?: 'module' | 'inline';
  /** The script prints `cell k/N` to stderr before each code cell (default false). */
  progress?: boolean;
  /** Shown in the script's header and in messages; never read. */
  notebookPath?: string;
}

export interface ConversionDiagnostic {
  severity: 'error' | 'warning' | 'info';
  /** 0-based index of the cell in the notebook (all cell types counted). Shown to people as `cell index+1`. */
  cell: number;
  cellId?: string;
  /** 1-based line within the cell's source. */
  line?: number;
  /** A stable identifier of the situation, e.g. `unknown-magic`, `pip-install`, `raw-cell`. */
  kind: string;
  message: string;
}

export type ParameterType = 'int' | 'float' | 'str' | 'bool' | 'list' | 'dict' | 'none' | 'other';

export interface NotebookParameter {
  /** Exact name as written in the notebook; overridden at run time by env `CANFAR_PARAM_<name>`. */
  name: string;
  type: ParameterType;
  /** Source text of the default value (of the `injected-parameters` cell when that one sets it). */
  default: string;
}

export interface Interpreter {
  command: string;
  args: string[];
}

export interface ConversionResult {
  /** False when any diagnostic is an error: the script must not be launched. */
  ok: boolean;
  script: string;
  /** Normalised kernel language: `python`, `typescript`, `javascript`, `r`, `julia`, `bash`, or as found. */
  language: string;
  /** File extension for the script, with the dot. */
  extension: string;
  /** How the batch wrapper runs the script: `<command> <args...> <script>`. */
  interpreter: Interpreter;
  diagnostics: ConversionDiagnostic[];
  parameters: NotebookParameter[];
  /**
   * Present when the script needs IPython in the image (Python): the cells (0-based, as
   * `ConversionDiagnostic.cell`; people count from 1) whose magics only IPython runs, or that call
   * `get_ipython()`. The script starts an IPython shell itself; `message` says so for a plan or a dialog.
   */
  needsIPython?: { cells: number[]; message: string };
  /**
   * Present when cells are tagged `combine`: those cells are left out of `script` (a marker line stays) and
   * form this script, run once after every replica has completed, with the same interpreter and runtime.
   * It holds the cells tagged `imports`, `functions`, `parameters`, `injected-parameters` (and the parameter
   * overrides), then the `combine` cells. `cells`: the combine cells, 0-based.
   */
  combine?: CombineScript;
}

export interface CombineScript {
  script: string;
  /** 0-based indices of the cells tagged `combine`. */
  cells: number[];
}
