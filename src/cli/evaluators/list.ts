import { REGISTERED } from "../../evaluators/registry.ts";
import { renderTable } from "../../report/table.ts";
import type { CommandSpec } from "../framework/command.ts";

/** `verinfer evaluators list`. */
export const listCommand: CommandSpec = {
  name: "list",
  summary: "list the evaluators and what each needs",
  options: {},
  run(ctx) {
    ctx.output(REGISTERED, () =>
      [
        renderTable(
          ["name", "kind", "needs", "description"],
          REGISTERED.map((r) => [r.name, r.kind, r.needs, r.description]),
        ),
        "",
        "X in semantic:X, alignment:X, agreement:X is any other evaluator, e.g. alignment:sts or agreement:cross-encoder.",
      ].join("\n"),
    );
    return 0;
  },
};
