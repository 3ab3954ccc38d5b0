// Lists of the same length made from another by replacing a few elements in place (the sim
// store's kept listing of a prefix, its rewritten records' entries made again): the writer notes
// where, so a reader that carried something over from the old list (the P2P placement's index of
// the condition records) visits those places instead of comparing N elements. The notes are kept
// by the list made from, then by the list made, holding neither (a note that held the list it was
// made from would keep every earlier list of a long run alive, one from the next).
// (Lists edited in the middle, the P2P group and operation files, are chunked lists now:
// trace/chunked-list.ts, whose shared chunks say what an edit left as it was.)
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
