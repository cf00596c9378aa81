import type { CommandIO } from './command';

type Stream = CommandIO['stdout'];

/** Writes one line (a newline is added). */
export function line(stream: Stream, text = ''): void {
  stream.write(`${text}\n`);
}

/** Machine output for --json: one JSON document, pretty-printed, Dates as ISO strings. */
export function json(stream: Stream, value: unknown): void {
  stream.write(`${JSON.stringify(value, null, 2)}\n`);
}

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  /** Right-aligned (numbers). */
  right?: boolean;
}

/**
 * Cells laid out in aligned columns: two spaces between columns, the last column not padded (so long
 * images or messages wrap naturally instead of padding every line), no trailing newline. The one layout
 * of the CLI's tables and the notebook commands' text tables (src/node/kernel/render.ts), which differ
 * only in how a value becomes a cell.
 */
export function alignColumns(
  columns: readonly { header: string; right?: boolean }[],
  cells: readonly string[][],
): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i].length)));
  const format = (values: string[]) =>
    values
      .map((v, i) => {
        if (i === values.length - 1 && !columns[i].right) return v;
        return columns[i].right ? v.padStart(widths[i]) : v.padEnd(widths[i]);
      })
      .join('  ')
      .trimEnd();
  return [format(columns.map((c) => c.header)), ...cells.map(format)].join('\n');
}

/** An aligned text table (see alignColumns), each value on one line, ending with a newline. */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((c) => c.value(row).replace(/\s*\n\s*/g, ' ')));
  return alignColumns(columns, cells) + '\n';
}

/** "3m", "2h 5m", "4d 1h": how long ago (or until) a date, for humans. */
export function age(date: Date | undefined, now = Date.now()): string {
  if (!date) return '-';
  let seconds = Math.round(Math.abs(now - date.getTime()) / 1000);
  if (seconds < 60) return `${seconds}s`;
  const days = Math.floor(seconds / 86400);
  seconds -= days * 86400;
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  if (days) return hours ? `${days}d ${hours}h` : `${days}d`;
  if (hours) return minutes ? `${hours}h ${minutes}m` : `${hours}h`;
  return `${minutes}m`;
}

/** A number without trailing zeros, or '-' when absent. */
export function num(value: number | undefined, unit = ''): string {
  if (value === undefined || Number.isNaN(value)) return '-';
  return `${Number(value.toFixed(2))}${unit}`;
}

/**
 * Progress of a multi-step operation: a redrawn bar on a TTY, plain lines otherwise (logs and CI
 * see every outcome, a terminal sees one moving line).
 */
export class Progress {
  private done = 0;
  private failed = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly tty: boolean;

  constructor(
    private readonly stream: Stream,
    private readonly total: number,
    private readonly label: string,
  ) {
    this.tty = Boolean(stream.isTTY);
    if (this.tty) {
      this.timer = setInterval(() => this.draw(), 100);
      this.timer.unref();
      this.draw();
    }
  }

  /** One step finished; `text` is printed as a line of its own when not on a TTY (or when it failed). */
  step(ok: boolean, text: string): void {
    this.done++;
    if (!ok) this.failed++;
    if (this.tty) {
      if (!ok) {
        this.clear();
        line(this.stream, text);
      }
      this.draw();
    } else {
      line(this.stream, `[${this.done}/${this.total}] ${text}`);
    }
  }

  end(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.tty) {
      this.clear();
    }
  }

  private clear(): void {
    this.stream.write('\r\x1b[2K');
  }

  private draw(): void {
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - 40));
    const filled = Math.round((this.done / Math.max(1, this.total)) * width);
    const spinner = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏'[this.frame++ % 10];
    const failed = this.failed ? `, ${this.failed} failed` : '';
    this.stream.write(
      `\r\x1b[2K${spinner} ${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${this.done}/${this.total}${failed}`,
    );
  }
}
