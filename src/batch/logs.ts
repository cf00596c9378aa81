/** Where a failed replica stopped, read from its log. */
export interface FailureSummary {
  /** 1-based number of the notebook cell that failed (all cell types counted, as JupyterLab shows them). */
  cell?: number;
  /** The cell's label as the script prints it, e.g. `cell 4 id=9f1c`. */
  cellLabel?: string;
  /** The error, e.g. `ZeroDivisionError: division by zero`. */
  error?: string;
  /** Last lines of the log, for context. */
  tail: string[];
}

// Lines the converted Python script prints on stderr (src/convert prelude), after `canfar: `: `cell k/N [cell 4 id=x]`
// before each code cell (progress), and `cell 4 id=x failed with Kind: message (raised at ...)` on an error.
const PROGRESS = /^(?:canfar: )?cell \d+\/\d+ \[(cell (\d+)[^\]]*)\]/;
const FAILED = /^(?:canfar: )?(cell (\d+)(?: id=\S+)?) failed with ([\w.]+): (.*?)(?: \(raised at .*\))?$/;

/**
 * Reads a replica log for the cell that failed and the error: the script's own "cell N failed with"
 * line when there is one, else the last progress line and the last line of a traceback.
 */
export function summarizeFailure(log: string, tailLines = 8): FailureSummary {
  const lines = log.split(/\r?\n/).filter((line) => line.trim() !== '');
  let cell: number | undefined;
  let cellLabel: string | undefined;
  let error: string | undefined;
  let tracebackAt = -1;
  lines.forEach((line, index) => {
    const text = line.trim();
    const progress = PROGRESS.exec(text);
    if (progress) {
      cellLabel = progress[1];
      cell = Number(progress[2]);
    }
    const failed = FAILED.exec(text);
    if (failed) {
      cellLabel = failed[1];
      cell = Number(failed[2]);
      error = `${failed[3]}: ${failed[4]}`;
    }
    if (line.startsWith('Traceback (most recent call last)')) tracebackAt = index;
  });
  if (!error && tracebackAt >= 0) {
    // The exception line is the first unindented line after the traceback's frames.
    error = lines.slice(tracebackAt + 1).find((line) => !/^\s/.test(line));
  }
  if (!error)
    error = [...lines]
      .reverse()
      .find((line) => /error|exception|uncaught/i.test(line) && !line.startsWith('run.sh:'));
  return {
    ...(cell !== undefined ? { cell } : {}),
    ...(cellLabel ? { cellLabel } : {}),
    ...(error ? { error: error.trim() } : {}),
    tail: lines.slice(-tailLines),
  };
}

/** `an image pull error` from events text, e.g. ErrImagePull, ImagePullBackOff, "Failed to pull image". */
export function imagePullError(events: { reason?: string; message?: string }[]): string | undefined {
  const event = events.find(
    (e) =>
      /ErrImagePull|ImagePullBackOff|InvalidImageName|ErrImageNeverPull/i.test(e.reason ?? '') ||
      /Failed to pull/i.test(e.message ?? ''),
  );
  return event ? `${event.reason ?? 'image pull error'}: ${event.message ?? ''}`.trim() : undefined;
}
