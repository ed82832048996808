/**
 * The four audit tasks, built from real logged outputs in the data directory. Every item is one
 * system's output for one prompt, with the evaluation input an evaluator sees and the ground truth it
 * is correlated with (never shown to evaluators):
 * - qa: the five SQuAD v1.1 leaderboard systems × 10,570 questions; truth = official token F1 (×10);
 * - summarization: 16 SummEval systems × 100 CNN/DM articles; truth = the four expert dimensions (1–5)
 *   and the paper's G = 10 · token F1 against the original highlights — or a user's judgments file
 *   (any human dimensions) in the same shape;
 * - sts: STS-B test pairs; truth = gold similarity (×2);
 * - chat: three AlpacaEval models × 805 instructions; truth = GPT-4-turbo preference over its reference
 *   (×10) and G = 10 · token F1 against that reference.
 */
import { loadAlpacaJudged, loadAlpacaReferences } from "../../data/alpacaEval.ts";
import { dataFile } from "../../data/dataDir.ts";
import { type Judgment, loadJudgments } from "../../data/judgments.ts";
import { loadSquadDataset, loadSquadPredictions } from "../../data/squad.ts";
import { loadStsB } from "../../data/stsb.ts";
import { loadSummEval, SUMMEVAL_DIMENSIONS } from "../../data/summeval.ts";
import { VerinferError } from "../../errors.ts";
import { type LengthRange, TASK_LENGTHS } from "../../protocol/poq/dimensions/structure.ts";
import type { EvaluationInput } from "../../protocol/poq/evaluator.ts";
import { maxOverGroundTruths, squadExactMatch, squadF1 } from "../../protocol/poq/metrics/squad.ts";

/** Audit task names. */
export const TASKS = ["qa", "summarization", "sts", "chat"] as const;
/** An audit task name. */
export type TaskName = (typeof TASKS)[number];

/** Correlation levels: over all items, within each prompt then averaged, and over system means. */
export type Level = "pooled" | "summary" | "system";

/** One scored output. */
export interface AuditItem {
  readonly system: string;
  /** The prompt (question, article, pair or instruction) this output answers. */
  readonly group: string;
  readonly input: EvaluationInput;
  readonly truth: Readonly<Record<string, number>>;
}

/** A loaded task. */
export interface AuditTask {
  readonly task: TaskName;
  readonly description: string;
  readonly truths: readonly { readonly name: string; readonly description: string }[];
  readonly levels: readonly Level[];
  readonly items: readonly AuditItem[];
  /** Texts to fit IDF statistics on (unsupervised; no labels). */
  readonly corpusTexts: readonly string[];
  readonly lengthRange: LengthRange;
  readonly defaultEvaluators: readonly string[];
  readonly sources: readonly string[];
  /** A digest of the data where the source paths alone do not identify it (a user's file). */
  readonly fingerprint?: string;
}

/** The cost-aware PoQ paper's offline ground truth, G = 10 · token F1 (SQuAD rules) against one reference. */
const PAPER_GROUND_TRUTH = (reference: string) =>
  `10 x token F1 against ${reference} — the cost-aware PoQ paper's ground truth`;

/** The five leaderboard prediction files shipped with SQuAD v1.1. */
export const SQUAD_SYSTEMS = [
  "bert-ensemble",
  "r-net-plus-ensemble",
  "slqa-plus-ensemble",
  "match-lstm-ensemble",
  "logistic-regression-baseline",
] as const;

function qaTask(dataDir: string): AuditTask {
  const datasetPath = dataFile(dataDir, "squad-v1.1/dev-v1.1.reconstructed.json");
  const questions = loadSquadDataset(datasetPath);
  const predictions = SQUAD_SYSTEMS.map((s) => ({
    system: s,
    path: dataFile(dataDir, `squad-v1.1/predictions/${s}.json`),
  })).map((s) => ({ ...s, answers: loadSquadPredictions(s.path) }));
  const items: AuditItem[] = [];
  for (const q of questions) {
    const outputs = predictions.map((p) => p.answers.get(q.id) ?? "");
    predictions.forEach((p, i) => {
      const output = outputs[i] as string;
      items.push({
        system: p.system,
        group: q.id,
        input: { query: q.question, output, reference: q.answers, peers: outputs.filter((_, j) => j !== i) },
        truth: {
          f1: 10 * maxOverGroundTruths(squadF1, output, q.answers),
          exact_match: 10 * maxOverGroundTruths(squadExactMatch, output, q.answers),
        },
      });
    });
  }
  return {
    task: "qa",
    description:
      "SQuAD v1.1 dev: 5 leaderboard systems x 10,570 questions; missing predictions are empty outputs",
    truths: [
      {
        name: "f1",
        description:
          "official SQuAD token F1 (max over gold answers) x10 — the cost-aware PoQ paper's ground truth",
      },
      { name: "exact_match", description: "official exact match x10" },
    ],
    levels: ["pooled", "system"],
    items,
    corpusTexts: [...new Set(questions.map((q) => q.context))].concat(questions.map((q) => q.question)),
    lengthRange: TASK_LENGTHS.qa as LengthRange,
    defaultEvaluators: [
      "token-f1",
      "rouge-l",
      "chrf",
      "tfidf",
      "bm25",
      "sts",
      "structure",
      "alignment:sts",
      "agreement:token-f1",
    ],
    sources: [datasetPath, ...predictions.map((p) => p.path)],
  };
}

/** Judged summaries (SummEval's, or a user's judgments file) as an audit task described from the data. */
function summariesTask(
  judgments: readonly Judgment[],
  dimensions: readonly string[],
  origin: {
    readonly name: string;
    readonly note: string;
    readonly sources: readonly string[];
    readonly fingerprint?: string;
  },
): AuditTask {
  const byDocument = new Map<string, Judgment[]>();
  for (const j of judgments) byDocument.set(j.id, [...(byDocument.get(j.id) ?? []), j]);
  const items: AuditItem[] = [];
  for (const [id, summaries] of byDocument) {
    summaries.forEach((j, i) => {
      items.push({
        system: j.system,
        group: id,
        input: {
          query: j.source ?? "",
          output: j.summary,
          reference: j.references,
          peers: summaries.filter((_, k) => k !== i).map((o) => o.summary),
        },
        truth: { ...j.human, token_f1: 10 * squadF1(j.summary, j.references[0] as string) },
      });
    });
  }
  const range = (values: readonly number[]) => `${Math.min(...values)}–${Math.max(...values)}`;
  const systems = new Set(judgments.map((j) => j.system)).size;
  const refs = judgments.map((j) => j.references.length);
  const observed = (d: string) => range(judgments.map((j) => j.human[d] as number));
  return {
    task: "summarization",
    description: `${origin.name}: ${judgments.length} summaries of ${systems} systems for ${byDocument.size} documents, ${range(refs)} references each; human ${dimensions.map((d) => `${d} (${observed(d)})`).join(", ")}${origin.note}`,
    truths: [
      ...dimensions.map((d) => ({ name: d, description: `human ${d} (observed ${observed(d)})` })),
      { name: "token_f1", description: PAPER_GROUND_TRUTH("the first reference") },
    ],
    levels: ["summary", "system", "pooled"],
    items,
    corpusTexts: judgments.flatMap((j) => [...(j.source ? [j.source] : []), ...j.references]),
    lengthRange: TASK_LENGTHS.summarization as LengthRange,
    defaultEvaluators: [
      "rouge-l",
      "chrf",
      "tfidf",
      "bm25",
      "token-f1",
      "sts",
      "structure",
      "alignment:tfidf",
      "agreement:rouge-l",
    ],
    sources: origin.sources,
    ...(origin.fingerprint ? { fingerprint: origin.fingerprint } : {}),
  };
}

function summarizationTask(dataDir: string): AuditTask {
  const path = dataFile(dataDir, "summeval/summeval_expert.jsonl");
  const judgments = loadSummEval(path).flatMap((doc) =>
    doc.summaries.map((s) => ({
      id: doc.doc_id,
      system: s.system,
      summary: s.summary,
      // references[0] is the original CNN/DailyMail highlights.
      references: doc.references,
      source: doc.source,
      human: { ...s.expert_scores },
    })),
  );
  return summariesTask(judgments, SUMMEVAL_DIMENSIONS, {
    name: "SummEval (CNN/DailyMail)",
    note: "; expert scores are averages of 3 experts",
    sources: [path],
  });
}

/** The summarization task on a user's judgments file (docs/evaluators.md, "Your own judgments"). */
export function judgmentsTask(path: string): AuditTask {
  const file = loadJudgments(path);
  return summariesTask(file.judgments, file.dimensions, {
    name: path,
    note: "",
    sources: [path],
    fingerprint: file.sha256,
  });
}

function stsTask(dataDir: string): AuditTask {
  const path = dataFile(dataDir, "stsbenchmark/sts-test.csv");
  const pairs = loadStsB(path);
  return {
    task: "sts",
    description:
      "STS Benchmark test: 1,379 sentence pairs with gold similarity 0-5 (genres: captions, news, forums)",
    truths: [{ name: "similarity", description: "gold similarity x2 (0-10)" }],
    levels: ["pooled"],
    items: pairs.map((p) => ({
      system: p.genre,
      group: `${p.genre}/${p.source}/${p.id}`,
      input: { query: p.sentence1, output: p.sentence2, reference: p.sentence1 },
      truth: { similarity: 2 * p.score },
    })),
    corpusTexts: pairs.flatMap((p) => [p.sentence1, p.sentence2]),
    lengthRange: TASK_LENGTHS.sts as LengthRange,
    defaultEvaluators: ["sts", "token-f1", "rouge-l", "chrf", "tfidf", "bm25"],
    sources: [path],
  };
}

/** AlpacaEval models shipped in the data directory. */
export const ALPACA_MODELS = [
  "gemma-2b-it",
  "FuseChat-Llama-3.2-1B-Instruct",
  "FuseChat-Llama-3.2-3B-Instruct",
] as const;

function chatTask(dataDir: string): AuditTask {
  const refPath = dataFile(dataDir, "alpaca-eval/reference_outputs_gpt4_1106_preview.jsonl");
  const references = new Map(loadAlpacaReferences(refPath).map((r) => [r.idx, r]));
  const models = ALPACA_MODELS.map((m) => {
    const path = dataFile(dataDir, `alpaca-eval/judged_${m}.jsonl`);
    return { model: m, path, outputs: new Map(loadAlpacaJudged(path).map((j) => [j.idx, j])) };
  });
  const items: AuditItem[] = [];
  for (const [idx, ref] of references) {
    const answers = models.map((m) => m.outputs.get(idx));
    models.forEach((m, i) => {
      const judged = answers[i];
      if (!judged) return;
      items.push({
        system: m.model,
        group: String(idx),
        input: {
          query: ref.instruction,
          output: judged.output,
          reference: ref.output,
          peers: answers
            .filter((a, j) => a !== undefined && j !== i)
            .map((a) => (a as { output: string }).output),
        },
        truth: {
          preference: 10 * (judged.preference - 1),
          token_f1: 10 * squadF1(judged.output, ref.output),
        },
      });
    });
  }
  return {
    task: "chat",
    description:
      "AlpacaEval 2.0: 3 small instruct models x 805 instructions, judged by GPT-4-turbo against GPT-4-turbo references",
    truths: [
      {
        name: "preference",
        description: "GPT-4-turbo preference for the model over the reference, (p-1) x10",
      },
      { name: "token_f1", description: PAPER_GROUND_TRUTH("the GPT-4-turbo reference output") },
    ],
    levels: ["pooled", "system"],
    items,
    corpusTexts: [...references.values()].flatMap((r) => [r.instruction, r.output]),
    lengthRange: TASK_LENGTHS.chat as LengthRange,
    defaultEvaluators: [
      "sts",
      "rouge-l",
      "chrf",
      "tfidf",
      "bm25",
      "token-f1",
      "structure",
      "alignment:tfidf",
      "agreement:tfidf",
    ],
    sources: [refPath, ...models.map((m) => m.path)],
  };
}

/** Loads a task from the data directory. */
export function loadAuditTask(task: TaskName, dataDir: string): AuditTask {
  switch (task) {
    case "qa":
      return qaTask(dataDir);
    case "summarization":
      return summarizationTask(dataDir);
    case "sts":
      return stsTask(dataDir);
    case "chat":
      return chatTask(dataDir);
  }
}

/**
 * A task's logged outputs: the shared dataset, or for summarization a user's judgments file
 * (`--judgments`, only there).
 */
export function loadTaskOutputs(task: TaskName, judgments: string | undefined, dataDir: string): AuditTask {
  if (judgments === undefined) return loadAuditTask(task, dataDir);
  if (task !== "summarization")
    throw new VerinferError(
      "CLI_USAGE",
      `--judgments is for --task summarization (judged summaries), not ${task}`,
    );
  return judgmentsTask(judgments);
}
