/**
 * The last lines of a log that the service returns whole on every request (`?view=logs` has no offset).
 * Each update appends only what is new, and at most `maxLines` lines are kept, so a 100 MB log costs
 * the same memory as a short one. Nothing of the old text is kept but a short fingerprint of its end,
 * which tells an extended log (same prefix) from a restarted one (different text, or shorter).
 */

export interface LogTailUpdate {
  /** Complete lines added by this update (the tail of them, at most maxLines). */
  added: string[];
  /** Lines dropped from the front of the kept lines by this update. */
  dropped: number;
  /** True when the log no longer extended the previous one (restarted, or a different log). */
  reset: boolean;
}

const FINGERPRINT = 256;

export class LogTail {
  constructor(readonly maxLines = 5000) {
    if (!Number.isInteger(maxLines) || maxLines < 1) {
      throw new RangeError(`maxLines must be a positive integer, got ${maxLines}`);
    }
  }

  /** Complete lines kept (oldest first), then `partial` is the unterminated last line. */
  get lines(): readonly string[] {
    return this._lines;
  }

  get partial(): string {
    return this._partial;
  }

  /** Lines received but no longer kept. */
  get hiddenLines(): number {
    return this._hidden;
  }

  /** Characters of the log consumed so far. */
  get length(): number {
    return this._length;
  }

  /** The kept text, as shown. */
  text(): string {
    return this._lines.length === 0 ? this._partial : `${this._lines.join('\n')}\n${this._partial}`;
  }

  /** Takes the whole log as just fetched. */
  update(whole: string): LogTailUpdate {
    let reset = false;
    let start = this._length;
    if (
      whole.length < this._length ||
      whole.slice(this._length - this._fingerprint.length, this._length) !== this._fingerprint
    ) {
      reset = this._length > 0;
      const droppedAll = this._lines.length;
      this._lines = [];
      this._partial = '';
      this._hidden = 0;
      this._length = 0;
      start = 0;
      const result = this._append(whole, start);
      return { ...result, dropped: result.dropped + droppedAll, reset };
    }
    return { ...this._append(whole, start), reset };
  }

  private _append(whole: string, start: number): Omit<LogTailUpdate, 'reset'> {
    this._length = whole.length;
    this._fingerprint = whole.slice(Math.max(0, whole.length - FINGERPRINT));
    if (start >= whole.length) return { added: [], dropped: 0 };

    const last = whole.lastIndexOf('\n');
    if (last < start) {
      // No line completed: the new text only extends the partial line.
      this._partial += whole.slice(start);
      return { added: [], dropped: 0 };
    }
    const partial = whole.slice(last + 1);
    // Only the last maxLines completed lines can be kept. Walk back maxLines newlines from the last
    // one; if that stays inside the new text, everything before is skipped without being split.
    let cut = last;
    for (let n = 0; n < this.maxLines && cut >= start; n++) {
      cut = cut === 0 ? -1 : whole.lastIndexOf('\n', cut - 1);
    }
    if (cut < start) {
      const added = whole.slice(start, last).split('\n');
      added[0] = this._partial + added[0];
      this._partial = partial;
      this._lines.push(...added);
      return { added, dropped: this._trim() };
    }
    // Newlines in [start, cut] each end a line that is never shown (the first completes the old partial).
    let skipped = 0;
    for (let i = whole.indexOf('\n', start); i !== -1 && i <= cut; i = whole.indexOf('\n', i + 1)) skipped++;
    const dropped = this._lines.length;
    this._hidden += dropped + skipped;
    const added = whole.slice(cut + 1, last).split('\n');
    this._lines = added;
    this._partial = partial;
    return { added, dropped };
  }

  private _trim(): number {
    const excess = this._lines.length - this.maxLines;
    if (excess <= 0) return 0;
    this._lines.splice(0, excess);
    this._hidden += excess;
    return excess;
  }

  private _lines: string[] = [];
  private _partial = '';
  private _hidden = 0;
  private _length = 0;
  private _fingerprint = '';
}
