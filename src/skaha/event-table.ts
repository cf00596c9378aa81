/**
 * `GET /session/{id}?view=events` answers a fixed-width text table (as kubectl prints one):
 *
 *     TYPE      REASON     MESSAGE                                  FIRST-TIME             LAST-TIME
 *     Normal    Scheduled  Successfully assigned skaha/... to n12   2026-07-21T18:09:21Z   2026-07-21T18:09:21Z
 *
 * or `<none>` when there are no events. Columns are located from the header, so messages with spaces survive.
 */
import type { SessionEvent } from './types';

const COLUMNS = ['TYPE', 'REASON', 'MESSAGE', 'FIRST-TIME', 'LAST-TIME'] as const;

function headerStarts(header: string): number[] | undefined {
  const starts: number[] = [];
  let from = 0;
  for (const name of COLUMNS) {
    const at = header.indexOf(name, from);
    if (at < 0) return undefined;
    starts.push(at);
    from = at + name.length;
  }
  return starts;
}

const blank = (value: string | undefined) =>
  value === undefined || value === '' || /^<(none|nil|unknown)>$/.test(value) ? undefined : value;

/** A row whose text does not line up with the header (a wide value pushed the columns): split on spaces. */
function splitLoose(line: string): string[] {
  const tokens = line.trim().split(/\s+/);
  if (tokens.length < 5) return [tokens[0] ?? '', tokens[1] ?? '', tokens.slice(2).join(' '), '', ''];
  return [
    tokens[0],
    tokens[1],
    tokens.slice(2, -2).join(' '),
    tokens[tokens.length - 2],
    tokens[tokens.length - 1],
  ];
}

function aligned(line: string, starts: number[]): boolean {
  // Every column boundary inside the line must fall right after a space.
  return starts.slice(1).every((start) => start >= line.length || line[start - 1] === ' ');
}

/** Parse the events table into rows; `<none>` or an empty body gives []. */
export function parseEventsTable(text: string): SessionEvent[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const headerIndex = lines.findIndex((line) => line.trim() !== '');
  if (headerIndex < 0) return [];
  const header = lines[headerIndex];
  if (/^<none>$/i.test(header.trim())) return [];
  const starts = headerStarts(header);
  const events: SessionEvent[] = [];
  for (const line of lines.slice(headerIndex + 1)) {
    if (line.trim() === '') continue;
    let fields: string[];
    if (starts && aligned(line, starts)) {
      fields = starts.map((start, i) => line.slice(start, starts[i + 1] ?? line.length).trim());
    } else {
      fields = splitLoose(line);
    }
    const event: SessionEvent = { type: fields[0], reason: fields[1], message: fields[2] };
    const first = blank(fields[3]);
    const last = blank(fields[4]);
    if (first !== undefined) event.firstTime = first;
    if (last !== undefined) event.lastTime = last;
    events.push(event);
  }
  return events;
}
