import { fastKeccak256 } from "../../crypto/nativeSecp256k1.ts";
import { loadCheckpoint, quantizeCheckpoint } from "../../engine/llama2c/modelFiles.ts";
import { readTraceFile } from "../../engine/traceFile.ts";
import { VerinferError } from "../../errors.ts";
import { auditTrace } from "../../protocol/verifiable/auditTrace.ts";
import { renderTable } from "../../report/table.ts";
import type { CommandSpec } from "../framework/command.ts";

/** `verinfer trace verify`. */
export const verifyTraceCommand: CommandSpec = {
  name: "verify",
  summary: "re-execute a ts-int trace on the model and name the first divergent step (exit 1 if any)",
  description: [
    "Checks a trace written by `verinfer generate --engine ts-int --trace FILE` the way a fisherman would: the",
    "model must be the committed one (model root), the same tokens are re-executed in the verifiable integer",
    "engine, and the leaves are compared one by one. The first divergent step is the one a bisection dispute",
    "converges on; for a matmul the output also gives the rows per dispute chunk and the cost of checking one.",
    "Only a differing leaf counts as a divergence: step labels must be the ones the re-execution derives and",
    "the root must be the root of the listed leaves, else the file is TRACE_MALFORMED naming the field.",
  ].join("\n"),
  positionals: [{ name: "TRACE", description: "trace file (JSON)", required: true }],
  options: {
    model: { type: "string", value: "FILE", required: true, description: "the llama2.c checkpoint it ran" },
  },
  examples: [
    "verinfer generate --engine ts-int --model tiny.bin --prompt hello --trace trace.json && verinfer trace verify trace.json --model tiny.bin",
  ],
  run(ctx) {
    const file = ctx.positionals[0] as string;
    const claimed = readTraceFile(file);
    const modelFile = ctx.string("model") as string;
    const model = quantizeCheckpoint(loadCheckpoint(modelFile), modelFile);
    const audit = auditTrace(model, claimed, fastKeccak256());
    if (!audit.ok)
      throw new VerinferError(audit.error.code, `${file}: ${audit.error.message}`, audit.error.meta);
    const a = audit.value;
    const d = a.firstDivergence;
    ctx.output({ kind: "verinfer.trace-audit", trace: file, model: modelFile, ...a }, () =>
      renderTable(
        ["check", "result"],
        [
          ["leaves (claimed / re-executed)", `${a.leaves} / ${a.replayedLeaves}`],
          ["claimed root (= root of the listed leaves)", a.claimedRoot],
          ["re-executed root", a.replayedRoot],
          ["first divergent step", d ? `#${d.index} ${d.step}` : "none"],
          ...(d
            ? [
                ["its inputs (agreeing)", d.inputs.join(", ") || "the token"],
                ["claimed / re-executed leaf", `${d.claimedLeaf} / ${d.replayedLeaf}`],
                ...(d.chunk
                  ? [
                      [
                        "dispute chunk",
                        `${d.chunk.rows} rows (${d.chunk.chunks} chunks): ${d.chunk.constraints.toLocaleString("en-US")} constraints, ≈${d.chunk.gas.toLocaleString("en-US")} gas`,
                      ],
                    ]
                  : []),
              ]
            : []),
          ["verdict", a.valid ? "valid" : "INVALID"],
        ],
        { title: `${file} on ${modelFile}` },
      ),
    );
    return a.valid ? 0 : 1;
  },
};
