/**
 * What the gateway sends a worker — the request id it assigned, chat messages, sampling, seed — and the
 * execution context it determines (the prompt's tokens and the sampling a receipt's promptHash and
 * paramsHash commit to). The gateway keeps each request it sent, so those who check the work can rebuild
 * the context when the worker will not give it out.
 */
import { z } from "zod";
import { promptOf } from "../engine/engine.ts";
import { encode, type Tokenizer } from "../engine/llama2c/tokenizer.ts";
import type { ExecutionContext } from "../protocol/verifiable/replay.ts";

export const INFER_REQUEST = z
  .object({
    requestId: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "a 32-byte 0x hex request id"),
    messages: z
      .array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() }))
      .min(1),
    params: z.object({
      temperature: z.number().min(0).max(2),
      topP: z.number().gt(0).max(1),
      maxTokens: z.number().int().min(1).max(4096),
      stop: z.array(z.string().min(1)).max(16),
    }),
    seed: z.number().int().min(0).max(0xffffffff),
  })
  .strict();
export type InferRequest = z.infer<typeof INFER_REQUEST>;

/** The context a request determines: its chat prompt tokenized (with BOS), its sampling and seed. */
export function contextOfRequest(
  tokenizer: Tokenizer,
  r: Pick<InferRequest, "messages" | "params" | "seed">,
): ExecutionContext {
  return {
    prompt: encode(tokenizer, promptOf({ messages: r.messages }), true),
    sampling: { temperature: r.params.temperature, topP: r.params.topP, seed: r.seed },
  };
}
