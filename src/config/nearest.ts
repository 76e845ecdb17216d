/** Levenshtein distance: the fewest single-character insertions, deletions and substitutions from `a` to `b`. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The valid name closest to a mistyped one, when it is close enough to be what was meant (at most
 * a third of its letters wrong, and at least two allowed); ties go to the first listed.
 */
export function nearestName(name: string, valid: readonly string[]): string | undefined {
  const typed = name.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const candidate of valid) {
    const distance = editDistance(typed, candidate);
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  if (!best) return undefined;
  return best.distance <= Math.max(2, Math.floor(typed.length / 3)) ? best.name : undefined;
}

/** What an unknown key's line says after its path: the nearest valid key, or every valid one. */
export function unknownKeyProblem(key: string, valid: readonly string[]): string {
  const near = nearestName(key, valid);
  return near ? `unknown key — did you mean ${near}?` : `unknown key — the keys here are ${valid.join(", ")}`;
}
