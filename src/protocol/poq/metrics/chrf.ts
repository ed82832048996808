/**
 * Sentence-level chrF (Popović 2015) with sacreBLEU 2.x defaults: character n-grams of orders 1–6
 * with whitespace removed, β = 2, precision and recall averaged over the orders where both sides have
 * n-grams (sacreBLEU's effective order), result in 0–100.
 */

/** chrF parameters. */
export interface ChrfOptions {
  readonly charOrder: number;
  readonly beta: number;
}

const DEFAULTS: ChrfOptions = { charOrder: 6, beta: 2 };

function charNgrams(chars: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= chars.length; i++) {
    const g = chars.slice(i, i + n).join("");
    counts.set(g, (counts.get(g) ?? 0) + 1);
  }
  return counts;
}

/** Characters (code points) with all whitespace removed, as sacreBLEU's `include_whitespace=False`. */
function compactChars(text: string): string[] {
  return Array.from(text.replace(/\s+/gu, ""));
}

/** chrF of a hypothesis against one reference, 0–100. */
export function chrf(hypothesis: string, reference: string, options: ChrfOptions = DEFAULTS): number {
  const hyp = compactChars(hypothesis);
  const ref = compactChars(reference);
  const factor = options.beta * options.beta;
  let precisionSum = 0;
  let recallSum = 0;
  let effectiveOrder = 0;
  for (let n = 1; n <= options.charOrder; n++) {
    const h = charNgrams(hyp, n);
    const r = charNgrams(ref, n);
    let hypCount = 0;
    let refCount = 0;
    let match = 0;
    for (const c of r.values()) refCount += c;
    for (const [g, c] of h) {
      hypCount += c;
      const rc = r.get(g);
      if (rc !== undefined) match += Math.min(c, rc);
    }
    if (hypCount > 0 && refCount > 0) {
      precisionSum += match / hypCount;
      recallSum += match / refCount;
      effectiveOrder++;
    }
  }
  if (effectiveOrder === 0) return 0;
  const p = precisionSum / effectiveOrder;
  const r = recallSum / effectiveOrder;
  if (p + r === 0) return 0;
  return (100 * ((1 + factor) * p * r)) / (factor * p + r);
}
