/**
 * Gradient-boosted regression trees (least squares) with histogram split finding, deterministic for
 * a given seed: features are bucketed into quantile bins once, each tree grows level by level on a
 * seeded row subsample, and leaves are shrunk by the learning rate. Small and dependency-free; it is
 * what lets verinfer train its own STS evaluator in seconds.
 */
import type { Rng } from "../../protocol/rng/prng.ts";

/** Training hyper-parameters. */
export interface GbrtOptions {
  readonly trees: number;
  readonly maxDepth: number;
  readonly learningRate: number;
  readonly minLeafSize: number;
  readonly subsample: number;
  readonly bins: number;
  /** L2 regularization on leaf values. */
  readonly lambda: number;
}

/** A tree node in flat form: internal nodes split on `feature <= threshold`; leaves hold `value`. */
export interface TreeNode {
  readonly feature: number;
  readonly threshold: number;
  readonly left: number;
  readonly right: number;
  readonly value: number;
}

/** A trained ensemble. */
export interface GbrtModel {
  readonly base: number;
  readonly learningRate: number;
  readonly trees: readonly (readonly TreeNode[])[];
}

/** Prediction of one feature vector. */
export function predictGbrt(model: GbrtModel, x: ArrayLike<number>): number {
  let y = model.base;
  for (const tree of model.trees) y += model.learningRate * predictTree(tree, x);
  return y;
}

/** Quantile bin edges per feature (upper bounds; the last bin is open). */
function binEdges(rows: readonly Float64Array[], feature: number, bins: number): Float64Array {
  const values = Float64Array.from(rows, (r) => r[feature] as number).sort();
  const edges: number[] = [];
  for (let b = 1; b < bins; b++) {
    const v = values[Math.floor((b * values.length) / bins)] as number;
    if (edges.length === 0 || v > (edges[edges.length - 1] as number)) edges.push(v);
  }
  return Float64Array.from(edges);
}

function binOf(edges: Float64Array, v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v <= (edges[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Prediction of one tree (without shrinkage). */
export function predictTree(tree: readonly TreeNode[], x: ArrayLike<number>): number {
  let node = tree[0] as TreeNode;
  while (node.feature >= 0)
    node = tree[(x[node.feature] as number) <= node.threshold ? node.left : node.right] as TreeNode;
  return node.value;
}

/** Mean of the targets: the ensemble's starting prediction. */
export function baseOf(targets: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < targets.length; i++) sum += targets[i] as number;
  return targets.length === 0 ? 0 : sum / targets.length;
}

/** Trains on rows (feature vectors) and targets; `onTree` sees each new tree as it is added. */
export function trainGbrt(
  rows: readonly Float64Array[],
  targets: ArrayLike<number>,
  options: GbrtOptions,
  rng: Rng,
  onTree?: (treeIndex: number, tree: readonly TreeNode[]) => void,
): GbrtModel {
  const n = rows.length;
  const featureCount = rows[0]?.length ?? 0;
  const edges = Array.from({ length: featureCount }, (_, f) => binEdges(rows, f, options.bins));
  const binned = Array.from({ length: featureCount }, (_, f) => {
    const col = new Uint8Array(n);
    for (let i = 0; i < n; i++) col[i] = binOf(edges[f] as Float64Array, rows[i]?.[f] as number);
    return col;
  });
  const base = baseOf(targets);
  const predictions = new Float64Array(n).fill(base);
  const residual = new Float64Array(n);
  const trees: TreeNode[][] = [];
  const sampleSize = Math.max(1, Math.round(n * options.subsample));

  for (let t = 0; t < options.trees; t++) {
    for (let i = 0; i < n; i++) residual[i] = (targets[i] as number) - (predictions[i] as number);
    const sample = Uint32Array.from(rng.sampleIndices(n, sampleSize));
    const nodes: TreeNode[] = [];
    const grow = (members: Uint32Array, depth: number): number => {
      const id = nodes.length;
      let sum = 0;
      for (const i of members) sum += residual[i] as number;
      const leafValue = sum / (members.length + options.lambda);
      nodes.push({ feature: -1, threshold: 0, left: -1, right: -1, value: leafValue });
      if (depth >= options.maxDepth || members.length < 2 * options.minLeafSize) return id;
      let bestGain = 0;
      let bestFeature = -1;
      let bestBin = -1;
      const parentScore = (sum * sum) / (members.length + options.lambda);
      for (let f = 0; f < featureCount; f++) {
        const nb = (edges[f] as Float64Array).length + 1;
        const gsum = new Float64Array(nb);
        const count = new Uint32Array(nb);
        const col = binned[f] as Uint8Array;
        for (const i of members) {
          const b = col[i] as number;
          gsum[b] = (gsum[b] as number) + (residual[i] as number);
          count[b] = (count[b] as number) + 1;
        }
        let leftSum = 0;
        let leftCount = 0;
        for (let b = 0; b < nb - 1; b++) {
          leftSum += gsum[b] as number;
          leftCount += count[b] as number;
          const rightCount = members.length - leftCount;
          if (leftCount < options.minLeafSize || rightCount < options.minLeafSize) continue;
          const rightSum = sum - leftSum;
          const gain =
            (leftSum * leftSum) / (leftCount + options.lambda) +
            (rightSum * rightSum) / (rightCount + options.lambda) -
            parentScore;
          if (gain > bestGain + 1e-12) {
            bestGain = gain;
            bestFeature = f;
            bestBin = b;
          }
        }
      }
      if (bestFeature < 0) return id;
      const col = binned[bestFeature] as Uint8Array;
      const left = members.filter((i) => (col[i] as number) <= bestBin);
      const right = members.filter((i) => (col[i] as number) > bestBin);
      const leftId = grow(left, depth + 1);
      const rightId = grow(right, depth + 1);
      nodes[id] = {
        feature: bestFeature,
        threshold: (edges[bestFeature] as Float64Array)[bestBin] as number,
        left: leftId,
        right: rightId,
        value: leafValue,
      };
      return id;
    };
    grow(sample, 0);
    trees.push(nodes);
    for (let i = 0; i < n; i++) {
      predictions[i] =
        (predictions[i] as number) + options.learningRate * predictTree(nodes, rows[i] as Float64Array);
    }
    onTree?.(t, nodes);
  }
  return { base, learningRate: options.learningRate, trees };
}
