/**
 * Each role's options (DESIGN.md "Config"): a zod schema per role, resolved from defaults < the config
 * file's section for the role (`{"worker": {...}}`) < `VERINFER_<ROLE>_<OPTION>` environment variables
 * < command-line flags, with every problem reported at once.
 */
import { z } from "zod";
import { configFileSection, envLayer, type Layer, resolveLayers } from "../config/layeredConfig.ts";
import { REEXECUTION_SHARE } from "../protocol/dispute/sampling.ts";
import { LOG_LEVELS } from "./observability.ts";
import { EVALUATOR_ADVERSARIES } from "./services/evaluator/evaluatorService.ts";
import { WORKER_ADVERSARIES } from "./services/worker/adversaries.ts";

const ADDRESS = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "an 0x address");
/** A list from JSON (an array) or the environment (comma-separated). */
const list = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (v) =>
      typeof v === "string"
        ? v
            .split(",")
            .map((x) => x.trim())
            .filter(Boolean)
        : v,
    z.array(item),
  );

const COMMON = {
  host: z.string().min(1).default("127.0.0.1"),
  port: z.coerce.number().int().min(0).max(65_535),
  /** Folder for the role's SQLite store and files. */
  dataDir: z.string({ error: "is required (the role keeps its state there)" }).min(1),
  /** The deployment file `verinfer chain up|deploy` wrote (addresses, chain id, RPC URL). */
  deployment: z.string({ error: "is required (a deployment file from `verinfer chain up`)" }).min(1),
  /** Overrides the deployment file's RPC URL. */
  rpcUrl: z.string().url().optional(),
  logLevel: z.enum(LOG_LEVELS).default("info"),
  /**
   * The most a transaction of the role offers per gas, in gwei; none: whatever the chain asks. Above it
   * sends wait: a batch not posted in time can cost the sequencer's bond, a dispute move its game.
   */
  maxFeeGwei: z.coerce.number().positive().optional(),
  /** A transaction still pending this long is sent again under its nonce with higher fees. */
  resendAfterSeconds: z.coerce.number().positive().default(30),
};
/** The options every role has. */
export type CommonConfig = z.infer<z.ZodObject<typeof COMMON>>;

export const WORKER_CONFIG = z
  .object({
    ...COMMON,
    port: COMMON.port.default(8601),
    /** The enclave key (default `<dataDir>/enclave.key`, generated with mode 0600 when absent). */
    keyFile: z.string().min(1).optional(),
    /** A llama2.c checkpoint (tokenizer beside it; the verifiable engine) or a GGUF model (llama.cpp: not disputable). */
    model: z.string({ error: "is required (a llama2.c checkpoint or a GGUF model)" }).min(1),
    modelName: z.string().min(1).default("verinfer-tiny"),
    /** Addresses of the gateways whose signed requests are served. */
    gateways: list(ADDRESS).refine((a) => a.length > 0, "name at least one gateway address"),
    threads: z.coerce.number().int().min(1).max(64).default(1),
    /**
     * The niceness (0–19) of the engine's generation threads (a llama2.c model): on cores they share,
     * the worker's spot-check proofs (due by a deadline, slashed when missed), its dispute moves and its
     * server run first. 0: generations run at the process's priority.
     */
    engineNice: z.coerce.number().int().min(0).max(19).default(10),
    adversary: z.enum(WORKER_ADVERSARIES).default("none"),
    /** The dev TEE's keys folder (a devnet shares one, so one dev root vouches for every worker). */
    devTeeKeys: z.string().min(1).optional(),
    /** `dev` (dev-TEE evidence written for the key) or `files` (evidence collected on the hardware, in `<dataDir>/tee`). */
    evidence: z.enum(["dev", "files"]).default("dev"),
    /** The operator's chain account (mode 0600): with it the worker defends its receipts in disputes. */
    operatorKeyFile: z.string().min(1).optional(),
    /** Parameters preset: what the contracts do not fix (chain/deployedParams.ts reads the rest). */
    params: z.enum(["devnet", "default"]).default("devnet"),
    pollMs: z.coerce.number().int().min(100).default(1000),
    /**
     * How long a served request's context is kept (seconds); default: the protocol's horizon
     * (`contextRetentionMs` of the deployment's parameters). Shorter, a late dispute or obligation finds
     * nothing to defend or prove with (the worker warns at start).
     */
    contextRetentionSeconds: z.coerce.number().positive().optional(),
  })
  .strict();
export type WorkerConfig = z.infer<typeof WORKER_CONFIG>;

export const GATEWAY_CONFIG = z
  .object({
    ...COMMON,
    port: COMMON.port.default(8600),
    /** The sequencer's key: its chain account posts batches, and it signs requests to workers. */
    keyFile: z.string({ error: "is required (the sequencer's key file, mode 0600)" }).min(1),
    workers: list(z.string().url()).refine((a) => a.length > 0, "name at least one worker URL"),
    /** Parameters preset for batching (src/protocol/params/otr.ts); the rest is read from the contracts. */
    params: z.enum(["devnet", "default"]).default("devnet"),
    /** Clients' API keys; none: open to anyone (as "anonymous"). */
    apiKeys: z
      .array(
        z
          .object({
            key: z.string().min(16, "API keys must be at least 16 characters"),
            name: z.string().min(1),
            requestsPerMinute: z.number().int().min(1).default(600),
          })
          .strict(),
      )
      .default([]),
    openRequestsPerMinute: z.coerce.number().int().min(1).default(6000),
    maxRequestBytes: z.coerce.number().int().min(1024).default(1_048_576),
    /**
     * Days the receipts of final batches are kept and served with their proofs (whole batches, counted
     * from their last admission); 0: forever. Clients fetch their proofs before then.
     */
    receiptRetentionDays: z.coerce.number().min(0).default(30),
    /** A cap on the receipt store's file (MB); past it requests are refused as on a full disk. None: no cap. */
    maxStoreMb: z.coerce.number().positive().optional(),
    refreshMs: z.coerce.number().int().min(100).default(2000),
    /** Seed of the weighted random routing (project PRNG), recorded in the logs. */
    routingSeed: z.coerce.number().int().min(0).default(0),
    /** A settler (`verinfer node settler`): its epochs' PoQ quality and cost per token weigh routing. */
    settler: z.string().url().optional(),
    /** A dev-TEE root (PEM) to verify workers' evidence against, as the attester does (the dashboard). */
    devRoot: z.string().min(1).optional(),
    /**
     * The block whose time closes a batch's window, making its receipts final: the chain's `finalized`
     * block (the default: nothing marked final can leave the chain), `safe`, or the head (`latest`: a
     * dev chain's, which reorganises only when told to; the devnet's choice).
     */
    finality: z.enum(["latest", "safe", "finalized"]).default("finalized"),
    /** "none": a plain proxy, only the baseline verification's cost is measured against (GatewayOptions). */
    verification: z.enum(["full", "none"]).default("full"),
  })
  .strict();
export type GatewayConfig = z.infer<typeof GATEWAY_CONFIG>;

export const FISHERMAN_CONFIG = z
  .object({
    ...COMMON,
    port: COMMON.port.default(8602),
    /** The fisherman's chain account: it posts the dispute bonds and collects the winnings. */
    keyFile: z.string({ error: "is required (the fisherman's key file, mode 0600)" }).min(1),
    /** The model the workers serve (llama2.c checkpoint), to re-execute their requests. */
    model: z.string({ error: "is required (the workers' llama2.c checkpoint)" }).min(1),
    /** A gateway whose /v1/network lists the workers (where execution contexts are fetched). */
    gateway: z.string({ error: "is required (the gateway's URL)" }).url(),
    sampleRate: z.coerce.number().min(0).max(1).default(1),
    /**
     * The share of a challenge window it plans to spend re-executing when the traffic is more than it
     * can re-execute at `sampleRate`; the rest is headroom for bursts, obligations and games.
     */
    reexecutionShare: z.coerce.number().gt(0).max(1).default(REEXECUTION_SHARE),
    /**
     * The niceness (0–19) of its re-execution thread, the workers' `engineNice` by default: on cores it
     * shares with workers, re-checking answers takes no more of them than serving them, and its game
     * moves and obligations (on the main thread) run first.
     */
    engineNice: z.coerce.number().int().min(0).max(19).default(10),
    /**
     * The seed of its per-receipt draws; none: derived from its account key (secret). A configured seed
     * makes the draws reproducible, and predictable to whoever knows it.
     */
    seed: z.coerce.number().int().min(0).optional(),
    /**
     * A crew of fishermen that split the receipts between them (`Crew` in the protocol's sampling): how
     * many there are, and this one's place, 0 ≤ crewMember < crewSize. Each re-executes its share only,
     * drawn from the crew's shared secret in `crewKeyFile` (a key file, mode 0600, the same for all).
     */
    crewSize: z.coerce.number().int().min(1).default(1),
    crewMember: z.coerce.number().int().min(0).default(0),
    crewKeyFile: z.string().min(1).optional(),
    /** Days a checked batch's verdicts and settled obligations are kept (counts and games stay); 0: forever. */
    retentionDays: z.coerce.number().min(0).default(30),
    pollMs: z.coerce.number().int().min(100).default(1000),
    /** Parameters preset: what the contracts do not fix (chain/deployedParams.ts reads the rest). */
    params: z.enum(["devnet", "default"]).default("devnet"),
  })
  .strict()
  .refine((c) => c.crewMember < c.crewSize, {
    path: ["crewMember"],
    message: "must be below crewSize (members are numbered from 0)",
  })
  .refine((c) => c.crewSize === 1 || c.crewKeyFile !== undefined, {
    path: ["crewKeyFile"],
    message: "is required with a crew (the secret its members draw their shares from, the same file for all)",
  })
  .refine((c) => c.crewSize === 1 || c.seed === undefined, {
    path: ["seed"],
    message: "cannot be set with a crew: a crew's draws come from its crewKeyFile",
  });
export type FishermanConfig = z.infer<typeof FISHERMAN_CONFIG>;

export const EVALUATOR_CONFIG = z
  .object({
    ...COMMON,
    port: COMMON.port.default(8603),
    /** The evaluator's registered chain account: it commits and reveals its scores. */
    keyFile: z.string({ error: "is required (the evaluator's key file, mode 0600)" }).min(1),
    /** The workers' model (llama2.c checkpoint or GGUF): its vocabulary renders the served tokens. */
    model: z.string({ error: "is required (the workers' model, for its vocabulary)" }).min(1),
    /** A gateway whose /v1/network lists the workers (where prompts and outputs are fetched). */
    gateway: z.string({ error: "is required (the gateway's URL)" }).url(),
    /**
     * The evaluators (`verinfer evaluators list`), comma-separated; the node commits their composite:
     * each dimension's mean, weighted as the protocol weighs dimensions. A live network has no
     * reference answers, so each must be reference-free: structure; alignment:X scores the output
     * against the query with X; llm-judge asks any OpenAI-compatible endpoint (the network's own
     * gateway included). Default: structure, alignment:chrf (lexical) and,
     * with `stsModel`, alignment:sts (learned STS).
     */
    evaluator: z.string().min(1).optional(),
    /** A learned STS model file (`verinfer evaluators train-sts --out FILE`), for alignment:sts. */
    stsModel: z.string().min(1).optional(),
    judgeUrl: z.string().url().optional(),
    judgeModel: z.string().min(1).optional(),
    /** The judge endpoint's API key, where it asks for one (a gateway with `apiKeys`). */
    judgeApiKey: z.string().min(1).optional(),
    adversary: z.enum(EVALUATOR_ADVERSARIES).default("none"),
    /** Days after its reveal phase an epoch's scores are kept (its commitment stays); 0: forever. */
    retentionDays: z.coerce.number().min(0).default(30),
    pollMs: z.coerce.number().int().min(100).default(1000),
    params: z.enum(["devnet", "default"]).default("devnet"),
  })
  .strict();
export type EvaluatorConfig = z.infer<typeof EVALUATOR_CONFIG>;

export const SETTLER_CONFIG = z
  .object({
    ...COMMON,
    port: COMMON.port.default(8604),
    /**
     * `settle`: post each epoch's reward root and claim it. `audit`: post nothing; recompute each epoch
     * from the chain as the settler must and check the root and inputs' hash it posted (anyone can).
     */
    mode: z.enum(["settle", "audit"]).default("settle"),
    /**
     * Days after its end an epoch's inputs, rounds and counted receipts are kept (its entries,
     * attribution and the evaluators' trust stay); 0: forever. At least the rollup's maxReceiptAge and
     * two epochs.
     */
    retentionDays: z.coerce.number().min(0).default(30),
    /** The account Epochs names as its settler (on a devnet the owner, who mints the rewards); an audit needs none. */
    keyFile: z.string().min(1).optional(),
    pollMs: z.coerce.number().int().min(100).default(1000),
    /** Parameters preset: rewards minted per epoch (the contracts' shares and phases are read from them). */
    params: z.enum(["devnet", "default"]).default("devnet"),
  })
  .strict()
  .refine((c) => c.mode === "audit" || c.keyFile !== undefined, {
    path: ["keyFile"],
    message: "is required (the settler's key file, mode 0600) unless mode is audit",
  });
export type SettlerConfig = z.infer<typeof SETTLER_CONFIG>;

/** The roles `verinfer node` runs. */
export const ROLES = {
  worker: WORKER_CONFIG,
  gateway: GATEWAY_CONFIG,
  fisherman: FISHERMAN_CONFIG,
  evaluator: EVALUATOR_CONFIG,
  settler: SETTLER_CONFIG,
} as const;
export type Role = keyof typeof ROLES;

/** `VERINFER_<ROLE>_<OPTION>` for each option (camelCase → UPPER_SNAKE). */
export function roleEnvNames(role: Role): Record<string, string> {
  const shape = ROLES[role].shape as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(shape).map((k) => [
      k,
      `VERINFER_${role.toUpperCase()}_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`,
    ]),
  );
}

/** Resolves a role's options from its layers. */
export function resolveRoleConfig<R extends Role>(
  role: R,
  file: string | undefined,
  env: NodeJS.ProcessEnv,
  flags: Layer,
): z.infer<(typeof ROLES)[R]> {
  const layers = [configFileSection(file, role), envLayer(env, roleEnvNames(role)), flags];
  return resolveLayers(ROLES[role] as z.ZodType, role, layers) as z.infer<(typeof ROLES)[R]>;
}
