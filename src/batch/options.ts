// Command-line options as the CLI, the notebook template (JS kernels) and the JupyterLab extension (the
// Python `%canfar` magic) read them. Isomorphic: the values come from node:util's parseArgs in Node and
// from the kernel, already parsed, in the browser.

/** Bad usage: exit code 2 in the CLI, the verb's usage in a notebook. */
export class UsageError extends Error {
  readonly code = 'usage';
  constructor(
    message: string,
    /** The verb whose usage to show; empty for the top level. */
    readonly verb = '',
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The values of parsed options: strings, booleans, or lists of them for repeatable options. */
export type OptionValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

/** A whole positive integer option, or a UsageError naming the option and the value. */
export function integerOption(name: string, value: unknown, verb: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  if (!/^\d+$/.test(text) || Number(text) < min) {
    throw new UsageError(`${name} must be a whole number >= ${min}, not ${JSON.stringify(value)}`, verb);
  }
  return Number(text);
}

/** A finite number option (cores and RAM may be fractional), or a UsageError. */
export function numberOption(name: string, value: unknown, verb: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (String(value).trim() === '' || !Number.isFinite(number))
    throw new UsageError(`${name} must be a number, not ${JSON.stringify(value)}`, verb);
  return number;
}

/** Repeated `KEY=VALUE` options into a record; a value with no `=` is a usage error. */
export function keyValueOptions(
  name: string,
  values: unknown,
  verb: string,
): Record<string, string> | undefined {
  if (values === undefined) return undefined;
  const list = (Array.isArray(values) ? values : [values]).map(String);
  const result: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`${name} takes KEY=VALUE, not ${JSON.stringify(item)}`, verb);
    result[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return result;
}

/** A value from a fixed list, or a UsageError listing the allowed ones. */
export function choiceOption<T extends string>(
  name: string,
  value: unknown,
  choices: readonly T[],
  verb: string,
): T | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  const found = choices.find((c) => c.toLowerCase() === text.toLowerCase());
  if (!found)
    throw new UsageError(`${name} must be one of ${choices.join(', ')}; got ${JSON.stringify(text)}`, verb);
  return found;
}
