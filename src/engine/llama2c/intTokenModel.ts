/**
 * The `ts-int` engine's model: the verifiable integer transformer (src/protocol/verifiable) behind the
 * engine loop, with integer sampling and the execution trace of each request (leaves hashed with the
 * native keccak when available — same hashes, faster).
 */
import { fastKeccak256 } from "../../crypto/nativeSecp256k1.ts";
import { bytesToHex } from "../../protocol/encoding/hex.ts";
import type { IntModel, TransformerShape } from "../../protocol/verifiable/intModel.ts";
import { sampleInt, samplingRng } from "../../protocol/verifiable/intSampler.ts";
import { IntTransformer } from "../../protocol/verifiable/intTransformer.ts";
import { modelRoot } from "../../protocol/verifiable/modelCommitment.ts";
import { OP_NAMES } from "../../protocol/verifiable/trace.ts";
import type { TraceSummary } from "../engine.ts";
import type { TokenModel } from "./llama2cEngine.ts";

/** A TokenModel over an integer model. */
export class IntTokenModel implements TokenModel {
  readonly config: TransformerShape;
  private readonly transformer: IntTransformer;
  private readonly hash = fastKeccak256();
  private root: string | null = null;
  private tokens: number[] = [];
  private sampled: number[] = [];
  private recording = false;
  private request: Pick<TraceSummary, "promptTokens" | "sampling"> = {
    promptTokens: 0,
    sampling: { temperature: 0, topP: 1, seed: 0 },
  };

  constructor(readonly model: IntModel) {
    this.config = model.shape;
    this.transformer = new IntTransformer(model, this.hash);
  }

  /** The model commitment (computed once). */
  modelRoot(): string {
    this.root ??= modelRoot(this.model, this.hash);
    return this.root;
  }

  begin(recordTrace: boolean, request: Pick<TraceSummary, "promptTokens" | "sampling">): void {
    this.recording = recordTrace;
    this.request = request;
    this.tokens = [];
    this.sampled = [];
    this.transformer.reset(recordTrace);
  }

  forward(token: number, pos: number): Int32Array {
    this.tokens[pos] = token;
    return this.transformer.forward(token, pos);
  }

  /** Integer sampling with the position's own generator (the request's stream is not used). */
  sample(
    logits: ArrayLike<number>,
    temperature: number,
    topP: number,
    _rng: unknown,
    at: { readonly seed: number; readonly pos: number },
  ): number {
    return sampleInt(logits as Int32Array, temperature, topP, samplingRng(at.seed, at.pos));
  }

  chose(pos: number, token: number): void {
    if (pos + 1 >= this.request.promptTokens) this.sampled.push(token);
    this.transformer.chose(pos, token);
  }

  finishTrace(): TraceSummary | null {
    const trace = this.transformer.trace;
    if (!this.recording || !trace) return null;
    return {
      root: bytesToHex(trace.root()),
      leaves: trace.leaves.length,
      modelRoot: this.modelRoot(),
      hash: "keccak256",
      tokens: [...this.tokens],
      sampled: [...this.sampled],
      promptTokens: this.request.promptTokens,
      sampling: this.request.sampling,
      steps: trace.ids.map((id, i) => ({
        pos: id.pos,
        layer: id.layer,
        op: OP_NAMES[id.op] as string,
        part: id.part,
        leaf: bytesToHex(trace.leaves[i] as Uint8Array),
      })),
    };
  }
}
