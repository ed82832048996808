/** Average ranks of a resample, computed in O(n + k) from dense ranks precomputed on the full sample. */
export function averageRanksFromDense(
  dense: { readonly ranks: Uint32Array; readonly distinct: number },
  indices: Uint32Array,
): Float64Array {
  const counts = new Uint32Array(dense.distinct);
  for (let i = 0; i < indices.length; i++) (counts[dense.ranks[indices[i] as number] as number] as number)++;
  // Average rank of a tie group starting after `below` smaller values with `c` members: below + (c + 1) / 2.
  const averageOf = new Float64Array(dense.distinct);
  let below = 0;
  for (let k = 0; k < dense.distinct; k++) {
    const c = counts[k] as number;
    averageOf[k] = below + (c + 1) / 2;
    below += c;
  }
  const out = new Float64Array(indices.length);
  for (let i = 0; i < indices.length; i++)
    out[i] = averageOf[dense.ranks[indices[i] as number] as number] as number;
  return out;
}
