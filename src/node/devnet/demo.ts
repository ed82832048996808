/**
 * `devnet up --demo`: requests through the official OpenAI SDK (JSON and streaming), each answer's
 * receipt checked client-side, then followed until its batch is posted (inclusion proven against the
 * on-chain root) and final (the challenge window closed on chain). Requests sample at temperature 1 with
 * a seed: greedy decoding of the devnet's generated model repeats one piece, which every evaluator
 * rightly scores 0.
 */
import OpenAI from "openai";
import type { Hex } from "viem";
import { clientsFor, publicClientFor } from "../../chain/deploy.ts";
import type { DeploymentFile } from "../../chain/deploymentFile.ts";
import { type ForcedReceipt, forceReceipt } from "../../chain/forcedInclusion.ts";
import { registryAbi, rollupAbi } from "../../chain/generated/contracts.ts";
import type { SignedReceipt } from "../../protocol/receipt/receipt.ts";
import { FORCED_BASE } from "../../protocol/rollup/rollupState.ts";
import { cheatsOn, type WorkerAdversary } from "../services/worker/adversaries.ts";
import { type AnswerReceipt, checkAnswerReceipt, includedOnChain } from "./receiptCheck.ts";

const PROMPTS = [
  "Tell me a story about a fox.",
  "What is a rollup?",
  "Say hello to the fishermen.",
  "Write one line about the sea.",
  "Name three colours.",
  "Why verify inference?",
];

export interface DemoRequest {
  readonly requestId: Hex;
  readonly stream: boolean;
  readonly text: string;
  readonly worker: Hex;
  readonly clientMs: number;
  readonly gatewayOverheadMs: number;
  readonly receiptValid: boolean;
  status: string;
  batch: number | null;
  includedOnChain: boolean;
}

export interface DemoSummary {
  readonly requests: DemoRequest[];
  readonly allReceiptsValid: boolean;
  readonly allIncluded: boolean;
  /** Every honest worker's receipt became final. */
  readonly allFinal: boolean;
  readonly batches: number[];
  readonly waitedForFinalityMs: number;
  /** With a cheating worker: its receipts, how many were voided on chain, and its stake slashed (wei). */
  readonly cheat: {
    readonly worker: Hex;
    readonly receipts: number;
    readonly voidedOnChain: number;
    readonly slashed: string;
  } | null;
  /** With a client key: the receipt the client forced in itself, and whether it became final. */
  readonly forced: (ForcedReceipt & { readonly final: boolean }) | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the demo against a running gateway; `log` narrates. */
export async function runDemo(
  gatewayUrl: string,
  deployment: DeploymentFile,
  o: {
    readonly requests: number;
    readonly log: (line: string) => void;
    readonly timeoutMs?: number;
    /** The cheating worker's enclave address, when the devnet has one, and its cheat. */
    readonly cheater?: Hex | undefined;
    readonly adversary?: WorkerAdversary;
    /** A funded client key: the demo's first honest receipt is also forced in by its client. */
    readonly clientKey?: Hex;
  },
): Promise<DemoSummary> {
  const chain = { public: publicClientFor(deployment.rpcUrl, deployment.chainId) };
  const stakeOf = async (worker: Hex) =>
    (
      (await chain.public.readContract({
        address: deployment.registry,
        abi: registryAbi,
        functionName: "participant",
        args: [worker],
      } as never)) as readonly unknown[]
    )[5] as bigint;
  const stakeBefore = o.cheater ? await stakeOf(o.cheater) : 0n;
  const client = new OpenAI({ baseURL: `${gatewayUrl}/v1`, apiKey: "devnet", maxRetries: 2 });
  const model = (await client.models.list()).data[0]?.id ?? "verinfer-tiny";
  const requests: DemoRequest[] = [];
  const signedOf = new Map<Hex, SignedReceipt>();
  /** A receipt the cheat faked (a leaked key fakes half of the worker's receipts). */
  const forged = (r: DemoRequest) =>
    r.worker.toLowerCase() === o.cheater?.toLowerCase() &&
    cheatsOn(o.adversary ?? "wrong-output", r.requestId);
  const cheatServed = () => requests.some(forged);
  // Routing is random (weighted by stake, load and latency): with a cheat on the network, the demo goes
  // on (up to 40 more requests) until the cheat has served one, so that there is something to catch.
  for (let i = 0; i < o.requests || (o.cheater && !cheatServed() && i < o.requests + 40); i++) {
    const stream = i % 2 === 1;
    const messages = [{ role: "user" as const, content: PROMPTS[i % PROMPTS.length] as string }];
    const started = performance.now();
    let text = "";
    let ext: AnswerReceipt & { gatewayOverheadMs: number };
    if (stream) {
      const s = await client.chat.completions.create({
        model,
        messages,
        max_tokens: 12,
        temperature: 1,
        seed: i,
        stream: true,
      });
      let last: unknown = null;
      for await (const chunk of s) {
        text += chunk.choices[0]?.delta?.content ?? "";
        if ((chunk as unknown as { verinfer?: unknown }).verinfer)
          last = (chunk as unknown as { verinfer: unknown }).verinfer;
      }
      ext = last as typeof ext;
    } else {
      const r = await client.chat.completions.create({
        model,
        messages,
        max_tokens: 12,
        temperature: 1,
        seed: i,
      });
      text = r.choices[0]?.message.content ?? "";
      ext = (r as unknown as { verinfer: typeof ext }).verinfer;
    }
    const clientMs = performance.now() - started;
    const valid = checkAnswerReceipt(ext, { chainId: deployment.chainId, rollup: deployment.rollup });
    if (valid.ok) signedOf.set(ext.requestId, valid.value);
    requests.push({
      requestId: ext.requestId,
      stream,
      text,
      worker: (ext.receipt as { worker: Hex }).worker,
      clientMs,
      gatewayOverheadMs: ext.gatewayOverheadMs,
      receiptValid: valid.ok,
      status: ext.status ?? "provisional",
      batch: ext.batch,
      includedOnChain: false,
    });
    o.log(
      `request ${i + 1}${stream ? " (streamed)" : ""}: ${JSON.stringify(text.slice(0, 40))} — receipt ${valid.ok ? "verified" : `INVALID: ${valid.error.message}`} (worker ${requests[i]?.worker.slice(0, 10)}…, batch ${ext.batch} position ${ext.position}, gateway overhead ${ext.gatewayOverheadMs.toFixed(2)} ms, ${clientMs.toFixed(0)} ms in all)`,
    );
  }
  // A client that does not want to depend on the sequencer puts its receipt on chain itself: in the
  // forced receipts' own index space, so every index the sequencer promised stays as promised.
  let forced: ForcedReceipt | null = null;
  const toForce = requests.find((r) => !forged(r) && signedOf.has(r.requestId));
  if (o.clientKey && toForce) {
    const c = clientsFor(deployment.rpcUrl, deployment.chainId, o.clientKey);
    forced = await forceReceipt(c, deployment.rollup, signedOf.get(toForce.requestId) as SignedReceipt);
    o.log(
      `request ${toForce.requestId.slice(0, 10)}…: its client forced the receipt in itself — batch ${forced.batch} (FORCED_BASE + ${forced.batch - FORCED_BASE}), final at chain time ${forced.finalAt}; the sequencer's batches keep their indices`,
    );
  }
  const forcedFinal = async () =>
    forced !== null &&
    Number(
      await chain.public.readContract({
        address: deployment.rollup,
        abi: rollupAbi,
        functionName: "status",
        args: [BigInt(forced.batch), 0],
      } as never),
    ) === 3;
  const started = Date.now();
  const deadline = started + (o.timeoutMs ?? 180_000);
  o.log(
    o.cheater
      ? "waiting for the batches to be posted, the fisherman to dispute the cheat's receipts and the windows to close…"
      : "waiting for the batches to be posted and their 30 s challenge windows to close…",
  );
  const settled = (r: DemoRequest) => r.status === "final" || r.status === "voided";
  while (Date.now() < deadline) {
    for (const r of requests) {
      if (settled(r) && r.includedOnChain) continue;
      const a = (await (await fetch(`${gatewayUrl}/v1/receipts/${r.requestId}`)).json()) as AnswerReceipt;
      if (a.status !== r.status && (a.status === "disputed" || a.status === "voided"))
        o.log(
          `request ${r.requestId.slice(0, 10)}… (worker ${r.worker.slice(0, 10)}…): ${a.status === "disputed" ? "DISPUTED by the fisherman" : "VOIDED on chain: the fisherman won the dispute"}`,
        );
      r.status = a.status ?? r.status;
      r.batch = a.batch;
      if (!r.includedOnChain && a.status !== "provisional" && a.status !== "sealed") {
        r.includedOnChain = await includedOnChain(chain, deployment.rollup, a);
        o.log(
          `request ${r.requestId.slice(0, 10)}…: batch ${a.batch} posted; inclusion against the on-chain root ${r.includedOnChain ? "proven" : "NOT proven"}`,
        );
      }
    }
    if (requests.every(settled) && (forced === null || (await forcedFinal()))) break;
    await sleep(1000);
  }
  const honest = requests.filter((r) => !forged(r));
  const cheats = requests.filter(forged);
  let voidedOnChain = 0;
  for (const r of cheats) {
    const a = (await (await fetch(`${gatewayUrl}/v1/receipts/${r.requestId}`)).json()) as AnswerReceipt;
    const status = (await chain.public.readContract({
      address: deployment.rollup,
      abi: rollupAbi,
      functionName: "status",
      args: [BigInt(a.batch ?? 0), a.position ?? 0],
    } as never)) as number;
    if (status === 4) voidedOnChain++;
  }
  return {
    requests,
    allReceiptsValid: requests.every((r) => r.receiptValid),
    allIncluded: requests.every((r) => r.includedOnChain),
    allFinal: honest.every((r) => r.status === "final"),
    batches: [
      ...new Set(requests.map((r) => r.batch).filter((b): b is number => b !== null)),
      ...(forced ? [forced.batch] : []),
    ],
    waitedForFinalityMs: Date.now() - started,
    cheat: o.cheater
      ? {
          worker: o.cheater,
          receipts: cheats.length,
          voidedOnChain,
          slashed: String(stakeBefore - (await stakeOf(o.cheater))),
        }
      : null,
    forced: forced && { ...forced, final: await forcedFinal() },
  };
}
