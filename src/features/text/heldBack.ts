/**
 * Where the part of `text` that a stream parser must hold back starts: a suffix that may be the
 * start of `tag`, together with the whitespace before it (dropped if the tag follows).
 */
export function heldBackStart(text: string, tag: string): number {
  let end = text.length;
  for (let length = Math.min(tag.length - 1, text.length); length > 0; length--) {
    if (text.endsWith(tag.slice(0, length))) {
      end -= length;
      break;
    }
  }
  while (end > 0 && /\s/.test(text[end - 1]!)) end--;
  return end;
}
