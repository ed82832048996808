import { VerinferError } from "../../errors.ts";
import { captureProbability, minimumK } from "../../protocol/poq/consensus/sampling.ts";
import { renderTable } from "../../report/table.ts";
import type { CommandSpec } from "../framework/command.ts";

/** `verinfer poq sampling`: evaluators per round needed against an attacker budget. */
export const samplingCommand: CommandSpec = {
  name: "sampling",
  summary: "probability that attackers capture a round, and the k an operator needs, per attacker budget",
  description: [
    "For an attacker holding a share of the M evaluator nodes, prints the exact (hypergeometric) probability that a",
    "round of k sampled evaluators has an attacker majority, which defeats the median and Yuma's κ = ½ quantile, and",
    "the smallest odd k that keeps that probability under --target. Combine with `verinfer poq sweep` for the",
    "accuracy cost below the majority threshold.",
  ].join("\n"),
  options: {
    "evaluator-nodes": {
      type: "integer",
      value: "M",
      default: 30,
      min: 1,
      description: "evaluator nodes in the network",
    },
    budgets: {
      type: "string",
      value: "LIST",
      default: "0.05,0.1,0.2,0.3,0.4",
      description: "attacker shares of the nodes",
    },
    ks: {
      type: "string",
      value: "LIST",
      default: "3,5,7,9,11,15,21",
      description: "evaluators per round to tabulate",
    },
    target: {
      type: "number",
      value: "P",
      default: 0.001,
      min: 0,
      max: 1,
      description: "acceptable capture probability per round",
    },
  },
  examples: ["verinfer poq sampling", "verinfer poq sampling --evaluator-nodes 200 --target 1e-6 --json"],
  run(ctx) {
    const M = ctx.number("evaluator-nodes") as number;
    const parse = (name: string) => {
      const values = (ctx.string(name) as string).split(",").map(Number);
      if (values.some((v) => !Number.isFinite(v) || v < 0))
        throw new VerinferError("CLI_USAGE", `--${name} must be non-negative numbers`);
      return values;
    };
    const budgets = parse("budgets");
    if (budgets.some((b) => b > 1)) throw new VerinferError("CLI_USAGE", "--budgets are shares in [0, 1]");
    const ks = parse("ks").filter((k) => Number.isInteger(k) && k >= 1 && k <= M);
    const target = ctx.number("target") as number;
    const rows = budgets.map((b) => {
      const m = Math.round(b * M);
      return {
        budget: b,
        attackers: m,
        capture: Object.fromEntries(ks.map((k) => [k, captureProbability(M, m, k)])),
        minimumK: minimumK(M, m, target, M),
      };
    });
    ctx.output({ evaluatorNodes: M, target, rows }, () =>
      renderTable(
        ["attacker share", "nodes", ...ks.map((k) => `k=${k}`), `min k (≤ ${target})`],
        rows.map((r) => [
          r.budget,
          r.attackers,
          ...ks.map((k) => (r.capture[k] as number).toExponential(1)),
          r.minimumK ?? "none",
        ]),
        { title: `P(attackers hold a majority of a round), ${M} evaluator nodes` },
      ),
    );
    return 0;
  },
};
