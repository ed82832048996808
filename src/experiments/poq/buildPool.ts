/**
 * Builds a simulation pool from a task's real logged outputs: every evaluator type scores every output
 * (its real scores and measured cost are what honest evaluator nodes report and spend), the composite's
 * dimensions are computed, and each output gets its ground-truth proxy and cost. Pools are cached on disk
 * (keyed by task, evaluators, truth, costs, data and trainer versions) since scoring takes tens of seconds.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheDir } from "../../config/cacheDir.ts";
import { VerinferError } from "../../errors.ts";
import { buildEvaluatorContext } from "../../evaluators/audit/buildContext.ts";
import { scoreTask } from "../../evaluators/audit/runAudit.ts";
import type { AuditTask } from "../../evaluators/audit/tasks.ts";
import { STS_TRAINER_VERSION } from "../../evaluators/learnedSts/train.ts";
import { createEvaluator } from "../../evaluators/registry.ts";
import type { ProtocolParams } from "../../protocol/params/params.ts";
import { POOL_DIMENSIONS, type PoqPool } from "../../sim/poqPool.ts";
import { type CostProfile, outputCostMs } from "./costProfiles.ts";

/** Bump when the pool's contents would change for the same inputs. */
const POOL_VERSION = 1;

/** Options of {@link buildPool}. */
export interface PoolOptions {
  readonly task: AuditTask;
  readonly evaluators: readonly string[];
  /** Evaluator the alignment and agreement dimensions use. */
  readonly dimensionScorer: string;
  readonly truth: string;
  readonly costs: CostProfile;
  readonly params: ProtocolParams;
  readonly dataDir: string;
  readonly onProgress?: (label: string, done: number, total: number) => void;
}

function encode(a: Float32Array | Float64Array | Int32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
}

function decodeAs<T extends Float32Array | Float64Array | Int32Array>(
  kind: { new (b: ArrayBuffer): T },
  text: string,
): T {
  const bytes = Buffer.from(text, "base64");
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return new kind(copy);
}

/** Builds (or reads from the cache) the pool of a task. */
export async function buildPool(
  options: PoolOptions,
): Promise<{ pool: PoqPool; cached: boolean; path: string }> {
  const { task } = options;
  if (!task.truths.some((t) => t.name === options.truth)) {
    throw new VerinferError(
      "CLI_USAGE",
      `task ${task.task} has no truth "${options.truth}"; its truths: ${task.truths.map((t) => t.name).join(", ")}`,
    );
  }
  const systems = [...new Set(task.items.map((i) => i.system))];
  const missingCosts = systems.filter((s) => options.costs[s] === undefined);
  if (missingCosts.length)
    throw new VerinferError("CONFIG_INVALID", `no cost profile for ${missingCosts.join(", ")}`, {
      missing: missingCosts,
    });
  const key = createHash("sha256")
    .update(
      JSON.stringify({
        v: POOL_VERSION,
        sts: STS_TRAINER_VERSION,
        task: task.task,
        sources: task.sources,
        fingerprint: task.fingerprint ?? null,
        items: task.items.length,
        evaluators: options.evaluators,
        dim: options.dimensionScorer,
        truth: options.truth,
        costs: options.costs,
      }),
    )
    .digest("hex")
    .slice(0, 16);
  const path = join(cacheDir(), `poq-pool-${task.task}-${key}.json`);
  if (existsSync(path)) {
    const raw = JSON.parse(readFileSync(path, "utf8"));
    return {
      cached: true,
      path,
      pool: {
        ...raw.meta,
        itemOf: decodeAs(Int32Array, raw.itemOf),
        systemOf: decodeAs(Int32Array, raw.systemOf),
        scores: decodeAs(Float32Array, raw.scores),
        dimensions: decodeAs(Float32Array, raw.dimensions),
        truth: decodeAs(Float32Array, raw.truth),
        inferenceCostMs: decodeAs(Float32Array, raw.inferenceCostMs),
        evaluatorCostMs: decodeAs(Float64Array, raw.evaluatorCostMs),
      },
    };
  }

  const { context } = buildEvaluatorContext({
    params: options.params,
    corpusTexts: task.corpusTexts,
    lengthRange: task.lengthRange,
    dataDir: () => options.dataDir,
  });
  const n = task.items.length;
  const E = options.evaluators.length;
  const scores = new Float32Array(n * E);
  const evaluatorCostMs = new Float64Array(E);
  for (const [e, name] of options.evaluators.entries()) {
    const scored = await scoreTask(await createEvaluator(name, context), task, {
      onProgress: (p) => options.onProgress?.(`scoring ${name}`, p.done, p.total),
    });
    if (scored.failed > 0) {
      throw new VerinferError(
        "EVALUATOR_BACKEND_FAILED",
        `${name} failed on ${scored.failed} outputs; pools need every score`,
        {
          evaluator: name,
          failures: scored.failures,
        },
      );
    }
    scored.scores.forEach((s, i) => {
      scores[i * E + e] = s;
    });
    evaluatorCostMs[e] = scored.costMs / n;
  }
  const D = POOL_DIMENSIONS.length;
  const dimensions = new Float32Array(n * D);
  const dimensionNames = [
    "structure",
    `alignment:${options.dimensionScorer}`,
    `agreement:${options.dimensionScorer}`,
  ];
  for (const [d, name] of dimensionNames.entries()) {
    const scored = await scoreTask(await createEvaluator(name, context), task, {
      onProgress: (p) => options.onProgress?.(`dimension ${name}`, p.done, p.total),
    });
    scored.scores.forEach((s, i) => {
      dimensions[i * D + d] = Number.isNaN(s) ? 0 : s;
    });
  }

  const groups = [...new Set(task.items.map((i) => i.group))];
  const groupIndex = new Map(groups.map((g, i) => [g, i]));
  const systemIndex = new Map(systems.map((s, i) => [s, i]));
  const itemOf = new Int32Array(groups.length * systems.length).fill(-1);
  const systemOf = new Int32Array(n);
  const truth = new Float32Array(n);
  const inferenceCostMs = new Float32Array(n);
  task.items.forEach((item, i) => {
    const s = systemIndex.get(item.system) as number;
    itemOf[(groupIndex.get(item.group) as number) * systems.length + s] = i;
    systemOf[i] = s;
    truth[i] = Math.max(0, Math.min(10, item.truth[options.truth] as number));
    inferenceCostMs[i] = outputCostMs(options.costs[item.system] as CostProfile[string], item.input.output);
  });
  const pool: PoqPool = {
    task: task.task,
    systems,
    evaluators: options.evaluators,
    truthName: options.truth,
    prompts: groups.length,
    itemOf,
    systemOf,
    scores,
    dimensions,
    truth,
    inferenceCostMs,
    evaluatorCostMs,
    provenance: { sources: task.sources, dimensionScorer: options.dimensionScorer, costs: options.costs },
  };
  mkdirSync(cacheDir(), { recursive: true });
  const {
    itemOf: a,
    systemOf: b,
    scores: c,
    dimensions: d,
    truth: t,
    inferenceCostMs: ic,
    evaluatorCostMs: ec,
    ...meta
  } = pool;
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(
    temporary,
    JSON.stringify({
      meta,
      itemOf: encode(a),
      systemOf: encode(b),
      scores: encode(c),
      dimensions: encode(d),
      truth: encode(t),
      inferenceCostMs: encode(ic),
      evaluatorCostMs: encode(ec),
    }),
  );
  renameSync(temporary, path);
  return { pool, cached: false, path };
}
