// The baseline: the classic naive event queue, a binary min-heap of event objects
// {time, seq, fn} (a fresh object and a fresh closure per event), ordered by (time, seq).

export interface HeapEntry {
  time: number;
  seq: number;
  fn: () => void;
}

function less(a: HeapEntry, b: HeapEntry): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

export class ObjectHeap {
  private readonly a: HeapEntry[] = [];

  get size(): number {
    return this.a.length;
  }

  push(e: HeapEntry): void {
    const a = this.a;
    let i = a.length;
    a.push(e);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pe = a[parent];
      if (!less(e, pe)) break;
      a[i] = pe;
      i = parent;
    }
    a[i] = e;
  }

  pop(): HeapEntry | undefined {
    const a = this.a;
    const n = a.length;
    if (n === 0) return undefined;
    const top = a[0];
    const last = a.pop() as HeapEntry;
    const size = n - 1;
    if (size === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) break;
      const r = l + 1;
      const c = r < size && less(a[r], a[l]) ? r : l;
      if (!less(a[c], last)) break;
      a[i] = a[c];
      i = c;
    }
    a[i] = last;
    return top;
  }
}
