/** Options shared by the `verinfer poq` commands: which pool to simulate on, and the simulation parameters. */
import { resolveDataDir } from "../../data/dataDir.ts";
import { checked } from "../../errors.ts";
import { loadTaskOutputs } from "../../evaluators/audit/tasks.ts";
import { parseEvaluatorList } from "../../evaluators/registry.ts";
import { buildPool } from "../../experiments/poq/buildPool.ts";
import {
  DEFAULT_COST_PROFILES,
  loadCostProfile,
  uniformCostProfile,
} from "../../experiments/poq/costProfiles.ts";
import { preset } from "../../protocol/params/params.ts";
import { DEFAULT_DIMENSION_WEIGHTS, formatWeights, parseWeights } from "../../protocol/poq/composite.ts";
import { AGGREGATORS, type AggregatorName } from "../../protocol/poq/consensus/aggregators.ts";
import { BEHAVIOURS, type BehaviourName } from "../../protocol/poq/consensus/behaviours.ts";
import type { PoqPool } from "../../sim/poqPool.ts";
import {
  DEFAULT_SIM_CONFIG,
  type PoqSimConfig,
  type QualitySignal,
  validateSimConfig,
} from "../../sim/simConfig.ts";
import type { CommandContext, OptionSpec } from "../framework/command.ts";
import { DATA_DIR_OPTION, SEED_OPTION } from "../sharedOptions.ts";

/** Tasks with inference-node pools. */
export const POQ_TASKS = ["qa", "summarization", "chat"] as const;
type PoqTask = (typeof POQ_TASKS)[number];
const DEFAULT_TRUTH: Record<PoqTask, string> = { qa: "f1", summarization: "token_f1", chat: "preference" };
const DEFAULT_POOL_EVALUATORS = "token-f1,rouge-l,chrf,tfidf,bm25,sts";

/** Options that choose and build the pool. */
export const POOL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  task: {
    type: "string",
    default: "qa",
    choices: POQ_TASKS,
    description: "logged outputs the inference nodes serve",
  },
  truth: {
    type: "string",
    value: "NAME",
    description: "ground-truth proxy (default: qa f1, summarization token_f1, chat preference)",
  },
  evaluators: {
    type: "string",
    value: "LIST",
    default: DEFAULT_POOL_EVALUATORS,
    description: "evaluator types run by evaluator nodes (real scores)",
  },
  "dimension-scorer": {
    type: "string",
    value: "NAME",
    default: "tfidf",
    description: "scorer of the alignment and agreement dimensions",
  },
  judgments: {
    type: "string",
    value: "FILE",
    description:
      "summarization: your own judged summaries (JSON Lines, docs/evaluators.md) instead of SummEval; --truth names one of its human dimensions",
  },
  costs: {
    type: "string",
    value: "FILE",
    description:
      'inference cost profiles JSON {"node": {"baseMs", "perTokenMs"}} (default: documented assumptions; the same for every system of a --judgments file)',
  },
  "data-dir": DATA_DIR_OPTION,
  seed: SEED_OPTION,
};

/** Simulation parameters. */
export const SIM_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  rounds: { type: "integer", value: "N", default: DEFAULT_SIM_CONFIG.rounds, description: "PoQ rounds" },
  k: {
    type: "integer",
    value: "N",
    default: DEFAULT_SIM_CONFIG.k,
    description: "evaluators sampled per round",
  },
  "evaluator-nodes": {
    type: "integer",
    value: "M",
    default: DEFAULT_SIM_CONFIG.evaluatorNodes,
    description: "evaluator nodes in the network",
  },
  "malicious-ratio": {
    type: "number",
    value: "R",
    default: 0,
    description: "fraction of malicious evaluator nodes",
  },
  attack: {
    type: "string",
    default: "honest",
    choices: BEHAVIOURS,
    description: "what malicious evaluators do",
  },
  aggregator: {
    type: "string",
    default: DEFAULT_SIM_CONFIG.aggregator,
    choices: AGGREGATORS,
    description: "consensus rule",
  },
  trim: {
    type: "number",
    value: "TAU",
    default: DEFAULT_SIM_CONFIG.trim,
    description: "trim fraction per side for trimmed-mean",
  },
  "no-commit-reveal": {
    type: "boolean",
    description: "let evaluators see this round's scores before reporting (enables copying)",
  },
  quality: {
    type: "string",
    default: "evaluator",
    choices: ["evaluator", "composite"],
    description: "what honest evaluators report",
  },
  "composite-weights": {
    type: "string",
    value: "LIST",
    default: formatWeights(DEFAULT_DIMENSION_WEIGHTS),
    description: "weights of the composite quality signal (paste the line `poq calibrate` prints)",
  },
  "attack-amount": {
    type: "number",
    value: "B",
    default: DEFAULT_SIM_CONFIG.attackParams.amount,
    description: "b of boost/sabotage/intermittent/collude (points)",
  },
  "noise-sigma": {
    type: "number",
    value: "S",
    default: DEFAULT_SIM_CONFIG.attackParams.noiseSigma,
    description: "σ of noise injection (points)",
  },
  "intermittent-p": {
    type: "number",
    value: "P",
    default: DEFAULT_SIM_CONFIG.attackParams.intermittentProbability,
    description: "attack probability of intermittent nodes",
  },
  "lazy-score": {
    type: "number",
    value: "S",
    default: DEFAULT_SIM_CONFIG.attackParams.lazyScore,
    description: "constant a lazy node reports",
  },
  alpha: { type: "number", value: "A", default: 1, description: "α of the inference reward" },
  beta: { type: "number", value: "B", default: 0.5, description: "β of the inference reward (cost weight)" },
  "evaluator-alpha": { type: "number", value: "A", default: 1, description: "α of the evaluator reward" },
  "evaluator-beta": { type: "number", value: "B", default: 0.5, description: "β of the evaluator reward" },
  lambda: {
    type: "number",
    value: "L",
    default: DEFAULT_SIM_CONFIG.paperTrust.lambda,
    description: "λ of the paper's trust update (Eq. 21)",
  },
  "audit-probability": {
    type: "number",
    value: "P",
    default: DEFAULT_SIM_CONFIG.hardenedTrust.auditProbability,
    description: "share of audited rounds for the hardened trust rule",
  },
  "discrimination-memory": {
    type: "number",
    value: "N",
    default: DEFAULT_SIM_CONFIG.hardenedTrust.discriminationMemory,
    description: "memory (sampled rounds) of the hardened rule's discrimination factor; 0 turns it off",
  },
};

/** The simulation configuration the options describe (validated by the caller against the pool). */
export function simConfigFromOptions(ctx: CommandContext): PoqSimConfig {
  const n = (name: string) => ctx.number(name) as number;
  return {
    ...DEFAULT_SIM_CONFIG,
    rounds: n("rounds"),
    k: n("k"),
    evaluatorNodes: n("evaluator-nodes"),
    maliciousRatio: n("malicious-ratio"),
    attack: ctx.string("attack") as BehaviourName,
    aggregator: ctx.string("aggregator") as AggregatorName,
    trim: n("trim"),
    commitReveal: !ctx.flag("no-commit-reveal"),
    quality: ctx.string("quality") as QualitySignal,
    compositeWeights: checked(parseWeights(ctx.string("composite-weights") as string)),
    attackParams: {
      amount: n("attack-amount"),
      noiseSigma: n("noise-sigma"),
      intermittentProbability: n("intermittent-p"),
      lazyScore: n("lazy-score"),
    },
    rewards: {
      inference: { alpha: n("alpha"), beta: n("beta") },
      evaluator: { alpha: n("evaluator-alpha"), beta: n("evaluator-beta") },
    },
    paperTrust: { ...DEFAULT_SIM_CONFIG.paperTrust, lambda: n("lambda") },
    hardenedTrust: {
      ...DEFAULT_SIM_CONFIG.hardenedTrust,
      auditProbability: n("audit-probability"),
      discriminationMemory: n("discrimination-memory"),
    },
  };
}

/** Validates a configuration before the (slow) pool is built, using the evaluator list's size. */
export function assertSimConfig(config: PoqSimConfig, evaluatorTypes: number): void {
  checked(validateSimConfig(config, evaluatorTypes));
}

/** Pool choices of the command line. */
export function poolChoices(ctx: CommandContext) {
  const task = ctx.string("task") as PoqTask;
  return {
    task,
    truth: ctx.string("truth") ?? DEFAULT_TRUTH[task],
    evaluators: parseEvaluatorList(ctx.string("evaluators") as string),
  };
}

/** Builds (or loads from the cache) the pool, with progress bars. */
export async function poolFromOptions(ctx: CommandContext): Promise<{ pool: PoqPool; cached: boolean }> {
  const { task, truth, evaluators } = poolChoices(ctx);
  const judgments = ctx.string("judgments");
  const dataDir = resolveDataDir(ctx.string("data-dir"));
  const loaded = loadTaskOutputs(task, judgments, dataDir);
  const systems = [...new Set(loaded.items.map((i) => i.system))];
  const costsFile = ctx.string("costs");
  const costs = costsFile
    ? loadCostProfile(costsFile, systems)
    : judgments
      ? uniformCostProfile(systems)
      : (DEFAULT_COST_PROFILES[task] as NonNullable<(typeof DEFAULT_COST_PROFILES)[string]>);
  let bar: ReturnType<typeof ctx.progress> | null = null;
  let label = "";
  const { pool, cached } = await buildPool({
    task: loaded,
    evaluators,
    dimensionScorer: ctx.string("dimension-scorer") as string,
    truth,
    costs,
    params: preset("paper"),
    dataDir,
    onProgress: (l, done, total) => {
      if (l !== label) {
        bar?.done();
        label = l;
        bar = ctx.progress(`pool: ${l}`.padEnd(32), total);
      }
      bar?.update(done);
    },
  });
  (bar as ReturnType<typeof ctx.progress> | null)?.done();
  if (!cached)
    ctx.info(
      `built the ${task} pool (${pool.truth.length} outputs x ${evaluators.length} evaluators); cached for later runs`,
    );
  return { pool, cached };
}
