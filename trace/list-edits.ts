// Lists made from another by an edit in the middle (a server taken out of the P2P group file or
// put back, a ring's few operation rows rewritten). The writer notes how many leading and
// trailing elements the new list shares with the one it was made from (the very same elements,
// none undefined), so a reader that looks for the two lists' longest common head and tail (the
// trace's diff of a store write, the P2P readers of the group and operation files) starts from
// there instead of comparing N elements. The counts are lower bounds: the reader still extends
// them with its own comparison, so its answer is the one it would find without them.

// By the list made from, then by the list made: neither list is held by a note (a note that held
// the list it was made from would keep every earlier list of a long run alive, one from the next).
const edits = new WeakMap<readonly unknown[], WeakMap<readonly unknown[], { head: number; tail: number }>>();

/**
 * `list` was made from `from`: its first `head` and last `tail` elements are the same elements
 * (===, not undefined) as `from`'s first `head` and last `tail`. A note that does not fit the
 * lengths (head + tail above either) is not kept.
 */
export function noteListEdit(list: readonly unknown[], from: readonly unknown[], head: number, tail: number): void {
  if (head < 0 || tail < 0 || head + tail > Math.min(list.length, from.length)) return;
  let made = edits.get(from);
  if (made === undefined) edits.set(from, (made = new WeakMap()));
  made.set(list, { head, tail });
}

/** Lower bounds of the common head and tail of `a` and `b` known from a note (`b` made from `a`, or `a` from `b`), else 0 and 0. */
export function sharedEnds(a: readonly unknown[], b: readonly unknown[]): { head: number; tail: number } {
  return edits.get(a)?.get(b) ?? edits.get(b)?.get(a) ?? NONE;
}
const NONE = Object.freeze({ head: 0, tail: 0 });

// Lists of the same length made from another by replacing a few elements in place (the sim
// store's kept listing of a prefix, its rewritten records' entries made again): the writer notes
// where, so a reader that carried something over from the old list (the P2P placement's index of
// the condition records) visits those places instead of comparing N elements. Kept as the edits
// above are: by the list made from, then by the list made, holding neither.
const replacements = new WeakMap<readonly unknown[], WeakMap<readonly unknown[], readonly number[]>>();

/**
 * `list` was made from `from` (the same length) by replacing the elements at `at`: every other
 * place holds the very same element (===) in both. A note that does not fit the lengths is not kept.
 */
export function noteReplaced(list: readonly unknown[], from: readonly unknown[], at: readonly number[]): void {
  if (list.length !== from.length || at.some((i) => !(i >= 0 && i < list.length))) return;
  let made = replacements.get(from);
  if (made === undefined) replacements.set(from, (made = new WeakMap()));
  made.set(list, at);
}

/** The places where `list` may differ from `from` when it was made from it (`noteReplaced`), else null. */
export function replacedSince(list: readonly unknown[], from: readonly unknown[]): readonly number[] | null {
  return replacements.get(from)?.get(list) ?? null;
}
