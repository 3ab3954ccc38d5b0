// Lists made from another by an edit in the middle (a server taken out of the P2P group file or
// put back, a ring's few operation rows rewritten). The writer notes how many leading and
// trailing elements the new list shares with the one it was made from (the very same elements,
// none undefined), so a reader that looks for the two lists' longest common head and tail (the
// trace's diff of a store write, the P2P readers of the group and operation files) starts from
// there instead of comparing N elements. The counts are lower bounds: the reader still extends
// them with its own comparison, so its answer is the one it would find without them.

const edits = new WeakMap<readonly unknown[], { from: readonly unknown[]; head: number; tail: number }>();

/**
 * `list` was made from `from`: its first `head` and last `tail` elements are the same elements
 * (===, not undefined) as `from`'s first `head` and last `tail`. A note that does not fit the
 * lengths (head + tail above either) is not kept.
 */
export function noteListEdit(list: readonly unknown[], from: readonly unknown[], head: number, tail: number): void {
  if (head < 0 || tail < 0 || head + tail > Math.min(list.length, from.length)) return;
  edits.set(list, { from, head, tail });
}

/** Lower bounds of the common head and tail of `a` and `b` known from a note (`b` made from `a`, or `a` from `b`), else 0 and 0. */
export function sharedEnds(a: readonly unknown[], b: readonly unknown[]): { head: number; tail: number } {
  const e = edits.get(b);
  if (e !== undefined && e.from === a) return e;
  const f = edits.get(a);
  if (f !== undefined && f.from === b) return f;
  return NONE;
}
const NONE = Object.freeze({ head: 0, tail: 0 });
