/** The public types of the notebook converter (contract: /tmp/contracts.md, "src/convert"). */

/** How IPython magics and shell escapes become code. */
export type MagicsPolicy = 'translate' | 'ipython' | 'comment';

export interface ConvertOptions {
  /**
   * `translate` (default): a safe subset of magics becomes plain Python that runs under `python3`.
   * `ipython`: nbconvert-compatible `get_ipython()` calls; the script must then run under `ipython`.
   * `comment`: every magic is commented out, as jupytext does.
   */
  policy?: MagicsPolicy;
  /** Under `translate`: a magic outside the supported subset is an error (default) or commented out. */
  unknownMagics?: 'error' | 'comment';
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
}
