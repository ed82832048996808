import { basename } from "node:path";
import { loadAlpacaJudged, loadAlpacaLeaderboard } from "../../data/alpacaEval.ts";
import { dataFile, resolveDataDir } from "../../data/dataDir.ts";
import { ALPACA_MODELS } from "../../evaluators/audit/tasks.ts";
import { alpacaWinRate } from "../../protocol/poq/metrics/winRate.ts";
import { renderTable } from "../../report/table.ts";
import type { CommandSpec } from "../framework/command.ts";
import { DATA_DIR_OPTION } from "../sharedOptions.ts";

/** `verinfer eval winrate`: AlpacaEval win rates of judged outputs, beside the leaderboard. */
export const winrateCommand: CommandSpec = {
  name: "winrate",
  summary: "AlpacaEval win rate of judged outputs, beside the published leaderboard",
  description:
    "Computes AlpacaEval 2.0 win rates (100 x mean(preference - 1), with standard error) from judged output files\n(one JSON object per line with idx, generator, output, preference in [1, 2]) and shows the leaderboard's\nwin_rate beside each when the generator appears there.",
  options: {
    judged: {
      type: "string",
      value: "FILE",
      multiple: true,
      description: "judged_<model>.jsonl file (default: the three in the data dir)",
    },
    leaderboard: {
      type: "string",
      value: "FILE",
      description: "leaderboard CSV (default: the one in the data dir)",
    },
    "data-dir": DATA_DIR_OPTION,
  },
  examples: ["verinfer eval winrate", "verinfer eval winrate --judged my_model.jsonl --json"],
  run(ctx) {
    const given = ctx.strings("judged");
    const dir = given.length > 0 && ctx.string("leaderboard") ? null : resolveDataDir(ctx.string("data-dir"));
    const files =
      given.length > 0
        ? given
        : ALPACA_MODELS.map((m) => dataFile(dir as string, `alpaca-eval/judged_${m}.jsonl`));
    const boardPath =
      ctx.string("leaderboard") ??
      dataFile(dir as string, "alpaca-eval/leaderboard_weighted_alpaca_eval_gpt4_turbo.csv");
    const board = loadAlpacaLeaderboard(boardPath);
    const rows = files.map((file) => {
      const judged = loadAlpacaJudged(file);
      const generator = judged[0]?.generator ?? basename(file);
      const published = board.find(
        (r) => r.name === generator || r.samples?.includes(`/results/${generator}/`),
      );
      return {
        file,
        generator,
        ...alpacaWinRate(judged.map((j) => j.preference)),
        leaderboardWinRate: published?.winRate ?? null,
      };
    });
    ctx.output(rows, () =>
      renderTable(
        ["generator", "win rate", "± SE", "wins", "draws", "losses", "n", "leaderboard"],
        rows.map((r) => [
          r.generator,
          r.winRate,
          r.standardError,
          r.wins,
          r.draws,
          r.losses,
          r.total,
          r.leaderboardWinRate,
        ]),
        {
          digits: 2,
          title: "AlpacaEval 2.0 win rate vs gpt4_1106_preview (judge: weighted_alpaca_eval_gpt4_turbo)",
        },
      ),
    );
    return 0;
  },
};
