/**
 * Reading a trace file written by `verinfer generate --engine ts-int --trace FILE` (the engine's
 * TraceSummary as JSON) into the claimed trace an audit checks. Malformed files get TRACE_MALFORMED
 * naming the field.
 */
import { z } from "zod";
import { readTextFile } from "../data/files.ts";
import { VerinferError } from "../errors.ts";
import { type Hex, hexToBytes } from "../protocol/encoding/hex.ts";
import type { ClaimedTrace } from "../protocol/verifiable/auditTrace.ts";
import { OP_NAMES, type OpCode } from "../protocol/verifiable/trace.ts";

const HASH = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be a 0x-prefixed 32-byte hex string");
const COUNT = z.number().int().min(0);

const TRACE_FILE = z.object({
  root: HASH,
  leaves: COUNT,
  modelRoot: HASH,
  hash: z.literal("keccak256"),
  tokens: z.array(COUNT),
  promptTokens: COUNT,
  sampling: z.object({
    temperature: z.number().finite().min(0).max(100),
    topP: z.number().gt(0).max(1),
    seed: z.number().int().min(0).max(0xffffffff),
  }),
  steps: z.array(
    z.object({
      pos: COUNT,
      layer: COUNT,
      op: z.enum(OP_NAMES as [string, ...string[]]),
      part: COUNT,
      leaf: HASH,
    }),
  ),
});

/** Largest trace file read (a 4096-position trace of a big model stays far below). */
const MAX_TRACE_BYTES = 1 << 30;

/** Reads and validates a trace file. */
export function readTraceFile(path: string): ClaimedTrace {
  const text = readTextFile(path, MAX_TRACE_BYTES);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new VerinferError("TRACE_MALFORMED", `${path} is not JSON`, { file: path });
  }
  const parsed = TRACE_FILE.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.map(String).join(".") || "(file)";
    throw new VerinferError("TRACE_MALFORMED", `${path}: field ${field}: ${issue?.message}`, {
      file: path,
      field,
    });
  }
  const t = parsed.data;
  if (t.leaves !== t.steps.length)
    throw new VerinferError(
      "TRACE_MALFORMED",
      `${path}: field leaves: says ${t.leaves} leaves but lists ${t.steps.length} steps`,
      { file: path, field: "leaves" },
    );
  return {
    root: t.root.toLowerCase() as Hex,
    modelRoot: t.modelRoot.toLowerCase() as Hex,
    tokens: t.tokens,
    promptTokens: t.promptTokens,
    sampling: t.sampling,
    steps: t.steps.map((s) => ({
      pos: s.pos,
      layer: s.layer,
      op: OP_NAMES.indexOf(s.op) as OpCode,
      part: s.part,
    })),
    leaves: t.steps.map((s) => hexToBytes(s.leaf)),
  };
}
