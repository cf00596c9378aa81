import { LogTail } from './logtail';

describe('LogTail', () => {
  it('appends only the new suffix and keeps the partial last line', () => {
    const tail = new LogTail(100);
    let change = tail.update('a\nb\npar');
    expect(change.added).toEqual(['a', 'b']);
    expect(tail.partial).toBe('par');
    change = tail.update('a\nb\npartial done\nc\n');
    expect(change.added).toEqual(['partial done', 'c']);
    expect(tail.lines).toEqual(['a', 'b', 'partial done', 'c']);
    expect(tail.partial).toBe('');
    change = tail.update('a\nb\npartial done\nc\n');
    expect(change).toEqual({ added: [], dropped: 0, reset: false });
  });

  it('keeps at most maxLines lines and counts the hidden ones', () => {
    const tail = new LogTail(3);
    tail.update('1\n2\n3\n');
    const change = tail.update('1\n2\n3\n4\n5\n');
    expect(change.dropped).toBe(2);
    expect(tail.lines).toEqual(['3', '4', '5']);
    expect(tail.hiddenLines).toBe(2);
    expect(tail.text()).toBe('3\n4\n5\n');
  });

  it('skips a huge new chunk without keeping more than maxLines', () => {
    const tail = new LogTail(2);
    tail.update('x');
    const change = tail.update('x1\n2\n3\n4\nend');
    expect(tail.lines).toEqual(['3', '4']);
    expect(tail.partial).toBe('end');
    // x1 and 2 were never shown; nothing was kept before.
    expect(tail.hiddenLines).toBe(2);
    expect(change.added).toEqual(['3', '4']);
  });

  it('starts over when the log no longer extends the previous one', () => {
    const tail = new LogTail(10);
    tail.update('first run\n');
    const change = tail.update('second\n');
    expect(change.reset).toBe(true);
    expect(tail.lines).toEqual(['second']);
    expect(tail.update('short').reset).toBe(true);
  });

  it('matches a naive split on random logs fed in random pieces', () => {
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let round = 0; round < 50; round++) {
      const max = 1 + Math.floor(random() * 6);
      const tail = new LogTail(max);
      let log = '';
      for (let step = 0; step < 8; step++) {
        const pieces = Math.floor(random() * 6);
        for (let i = 0; i < pieces; i++)
          log += random() < 0.4 ? '\n' : String.fromCharCode(97 + Math.floor(random() * 26));
        tail.update(log);
        const all = log.split('\n');
        const partial = all.pop()!;
        expect(tail.partial).toBe(partial);
        expect(tail.lines).toEqual(all.slice(-max));
        expect(tail.hiddenLines).toBe(Math.max(0, all.length - max));
      }
    }
  });
});
