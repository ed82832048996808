/**
 * What it costs an inference node to produce an output, per task. The defaults are documented
 * assumptions (none of these systems was run here): relative latencies from model size and architecture,
 * in milliseconds per output on one accelerator. Chat costs grow with the real output length. A user
 * passes measured profiles with `--costs FILE` (JSON, same shape), validated before any work starts.
 */
import { z } from "zod";
import { readJsonFile } from "../../data/files.ts";
import { VerinferError } from "../../errors.ts";

/** Cost model of one node: fixed latency plus a per-output-token latency. */
export interface NodeCost {
  readonly baseMs: number;
  readonly perTokenMs: number;
}

/** Cost models by node name. */
export type CostProfile = Readonly<Record<string, NodeCost>>;

const fixed = (baseMs: number): NodeCost => ({ baseMs, perTokenMs: 0 });

/**
 * The same cost for every node: for outputs of unknown systems (a user's judgments file without
 * `--costs`), so cost-aware rewards do not tell the nodes apart by cost.
 */
export function uniformCostProfile(nodes: readonly string[]): CostProfile {
  return Object.fromEntries(nodes.map((n) => [n, fixed(100)]));
}

/** Our assumptions (see docs/reproductions/poq-cost-aware.md for the reasoning). */
export const DEFAULT_COST_PROFILES: Readonly<Record<string, CostProfile>> = {
  // SQuAD v1.1 leaderboard readers: an ensemble of BERT-large (≈340M parameters × several members) is
  // by far the heaviest; r-net+/SLQA+ ensembles of RNN readers with contextual embeddings are mid-sized;
  // the Match-LSTM ensemble is smaller; logistic regression over hand features is nearly free.
  qa: {
    "bert-ensemble": fixed(2000),
    "slqa-plus-ensemble": fixed(600),
    "r-net-plus-ensemble": fixed(500),
    "match-lstm-ensemble": fixed(200),
    "logistic-regression-baseline": fixed(5),
  },
  // SummEval systems (Fabbri et al. 2021): extractive (M0 LEAD-3, M1 NEUSUM, M2 BanditSum, M5 RNES),
  // RNN abstractive (M8–M15), pretrained transformers (M17 T5, M20 GPT-2 zero-shot, M22 BART, M23 Pegasus).
  summarization: {
    M0: fixed(1),
    M1: fixed(60),
    M2: fixed(50),
    M5: fixed(50),
    M8: fixed(200),
    M9: fixed(150),
    M10: fixed(300),
    M11: fixed(250),
    M12: fixed(250),
    M13: fixed(250),
    M14: fixed(250),
    M15: fixed(250),
    M17: fixed(2000),
    M20: fixed(900),
    M22: fixed(500),
    M23: fixed(650),
  },
  // AlpacaEval models: decoding cost ≈ 4 ms per output token per billion parameters, plus 50 ms.
  chat: {
    "gemma-2b-it": { baseMs: 50, perTokenMs: 4 * 2.5 },
    "FuseChat-Llama-3.2-1B-Instruct": { baseMs: 50, perTokenMs: 4 * 1.24 },
    "FuseChat-Llama-3.2-3B-Instruct": { baseMs: 50, perTokenMs: 4 * 3.21 },
  },
};

const FILE = z.record(
  z.string(),
  z.object({
    baseMs: z.number().finite().nonnegative(),
    perTokenMs: z.number().finite().nonnegative().default(0),
  }),
);

/** Loads a cost profile file, checking that it covers every node. */
export function loadCostProfile(path: string, nodes: readonly string[]): CostProfile {
  const parsed = FILE.safeParse(readJsonFile(path));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new VerinferError(
      "CONFIG_INVALID",
      `${path}: ${issue?.path.join(".") || "(root)"}: ${issue?.message} (costs must be non-negative numbers)`,
      {
        file: path,
      },
    );
  }
  const missing = nodes.filter((n) => !(n in parsed.data));
  if (missing.length)
    throw new VerinferError("CONFIG_INVALID", `${path} has no cost for ${missing.join(", ")}`, {
      file: path,
      missing,
    });
  return parsed.data;
}

/** Output tokens, approximated as 1.3 per whitespace-separated word. */
export function approximateTokens(text: string): number {
  const words = text.trim().length === 0 ? 0 : text.trim().split(/\s+/u).length;
  return Math.round(1.3 * words);
}

/** Cost of one output. */
export function outputCostMs(cost: NodeCost, output: string): number {
  return cost.baseMs + cost.perTokenMs * approximateTokens(output);
}
