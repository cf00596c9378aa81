/**
 * Python's `repr()` of a str, so that generated code matches what IPython and nbconvert write
 * (`get_ipython().system('ls')`), and any text can be embedded in a script as a valid literal.
 */

// Python's str.isprintable() is false for the Unicode categories Other (C*) and Separator (Z*), except space.
const NON_PRINTABLE = /[\p{C}\p{Z}]/u;

export function pyRepr(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of value) {
    const code = char.codePointAt(0) as number;
    if (char === quote || char === '\\') out += '\\' + char;
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\t') out += '\\t';
    else if (char === ' ' || !NON_PRINTABLE.test(char)) out += char;
    else if (code < 0x100) out += '\\x' + code.toString(16).padStart(2, '0');
    else if (code < 0x10000) out += '\\u' + code.toString(16).padStart(4, '0');
    else out += '\\U' + code.toString(16).padStart(8, '0');
  }
  return out + quote;
}
