/**
 * The network dashboard (served by the gateway at /dashboard, bundled with esbuild): it polls the
 * gateway's network view and reads disputes from the chain over the RPC — nothing else is contacted —
 * and runs the receipt explorer's checks (explorer.ts, the protocol's own code) in the browser.
 */
import { createPublicClient, decodeFunctionData, type Hex, http } from "viem";
import { type ContractLog, EventCursor } from "../src/chain/events.ts";
import { mirrorGame } from "../src/chain/gameMirror.ts";
import {
  disputeGameAbi,
  registryAbi,
  rollupAbi,
  scoreCommitsAbi,
  spotChecksAbi,
} from "../src/chain/generated/contracts.ts";
import { deployedFrom } from "../src/chain/logs.ts";
import type { GameState } from "../src/protocol/dispute/game.ts";
import type { DisputeParams } from "../src/protocol/params/otr.ts";
import { formatVrf } from "../src/report/tokens.ts";
import { type ChainFacts, type ExplorerInput, explainReceipt } from "./explorer.ts";

interface DashboardConfig {
  readonly rpcUrl: string;
  readonly chainId: number;
  readonly rollup: Hex;
  readonly registry: Hex;
  readonly disputeGame: Hex | null;
  readonly spotChecks: Hex | null;
  readonly scoreCommits: Hex | null;
  /** The block the contracts were deployed in: events are read from there, in windows. */
  readonly deployedAtBlock: number;
  /** Whether the gateway passes a settler's epochs through (/v1/epochs). */
  readonly settler: boolean;
  /** The dispute game's parameters (bigints as strings), to mirror each game's tree. */
  readonly dispute:
    | (Omit<DisputeParams, "bondGasPriceWei" | "workerSlash"> & {
        bondGasPriceWei: string;
        workerSlash: string;
      })
    | null;
}

const ZERO_ADDRESS = `0x${"0".repeat(40)}` as Hex;
const ETH = (wei: bigint) => `${(Number(wei / 10n ** 12n) / 1e6).toFixed(4)} ETH`;

/** One game's claims as a table: the tree by parent, each claim's side, node, bond, clocks and deadline. */
function gameTable(id: string, state: GameState, resolved: boolean, chainNowMs: number): HTMLElement {
  const wrap = document.createElement("div");
  wrap.dataset.game = id;
  const title = document.createElement("h3");
  const open = state.claims.filter((c) => c.deadline > chainNowMs);
  const last = state.claims.at(-1);
  const whose = resolved
    ? "resolved"
    : last && last.deadline > chainNowMs
      ? `${last.side === "defender" ? "challenger" : "defender"} to move within ${Math.ceil((last.deadline - chainNowMs) / 1000)} s`
      : "every clock has run out: resolvable";
  title.append(
    text(
      `game ${id}: depth ${state.depth}, ${state.claims.length} claims (${open.length} answerable), ${whose}`,
    ),
  );
  const table = document.createElement("table");
  const head = document.createElement("thead");
  head.append(
    row([
      "claim",
      "answers",
      "kind",
      "side",
      "node (height·index)",
      "bond",
      "clock used d / c (s)",
      "deadline",
    ]),
  );
  const body = document.createElement("tbody");
  for (const c of state.claims)
    body.append(
      row(
        [
          c.id,
          c.parent ?? "–",
          c.kind,
          c.side,
          `${c.kind === "dissect" ? c.childHeight : c.height}·${c.index}`,
          ETH(c.bond),
          `${(c.clock.defender / 1000).toFixed(1)} / ${(c.clock.challenger / 1000).toFixed(1)}`,
          c.deadline > chainNowMs ? `in ${Math.ceil((c.deadline - chainNowMs) / 1000)} s` : "passed",
        ],
        { "data-claim": String(c.id) },
      ),
    );
  table.append(head, body);
  wrap.append(title, table);
  return wrap;
}

interface NetworkView {
  workers: {
    url: string;
    address: string | null;
    model: string | null;
    healthy: boolean;
    stake: string;
    served: number;
    inFlight: number;
    latencyMs: number;
    quality: number | null;
    efficiency: number | null;
    attestation: {
      overall: boolean;
      gpus: { kind: string; claims: Record<string, unknown> }[];
      failures: string[];
    } | null;
  }[];
  receipts: Record<string, number>;
  batches: Record<string, number>;
  openBatch: { index: number; pending: number };
  tokensAdmitted: number;
  overheadMs: { p50: number | null; p99: number | null; samples: number; recent?: number[] };
}

const $ = (id: string) => document.getElementById(id) as HTMLElement;
const text = (s: string | number) => document.createTextNode(String(s));

function row(cells: (string | number)[], attrs: Record<string, string> = {}): HTMLTableRowElement {
  const tr = document.createElement("tr");
  for (const [k, v] of Object.entries(attrs)) tr.setAttribute(k, v);
  for (const c of cells) {
    const td = document.createElement("td");
    td.append(text(c));
    tr.append(td);
  }
  return tr;
}

function fill(tableId: string, rows: HTMLTableRowElement[]): void {
  const body = $(tableId).querySelector("tbody") as HTMLElement;
  body.replaceChildren(...rows);
}

function card(key: string, label: string, value: string | number): HTMLElement {
  const div = document.createElement("div");
  div.className = "card";
  div.dataset.key = key;
  const v = document.createElement("div");
  v.className = "v";
  v.append(text(value));
  const k = document.createElement("div");
  k.className = "k";
  k.append(text(label));
  div.append(v, k);
  return div;
}

/** An SVG histogram of recent gateway overheads (ms). */
function histogram(samples: readonly number[]): string {
  if (samples.length === 0) return "<div class='sub'>no requests yet</div>";
  const bins = 20;
  const max = Math.max(...samples, 0.001);
  const counts = new Array<number>(bins).fill(0);
  for (const s of samples) {
    const bin = Math.min(bins - 1, Math.floor((s / max) * bins));
    counts[bin] = (counts[bin] as number) + 1;
  }
  const top = Math.max(...counts);
  const w = 16;
  const h = 80;
  const bars = counts
    .map((c, i) => {
      const bh = (c / top) * h;
      return `<rect x="${i * w}" y="${h - bh}" width="${w - 2}" height="${bh}" fill="#0969da"><title>${c}</title></rect>`;
    })
    .join("");
  return `<svg width="${bins * w}" height="${h + 14}" role="img" aria-label="overhead histogram">${bars}<text x="0" y="${h + 12}">0</text><text x="${bins * w - 60}" y="${h + 12}">${max.toFixed(2)} ms</text></svg>`;
}

/** One attestation claim's verdict in a few words (chains and RIMs are objects of sub-claims). */
function claimValue(v: unknown): string {
  if (v === null) return "n/a";
  if (typeof v !== "object") return String(v);
  const o = v as Record<string, unknown>;
  if ("ocspStatus" in o) return `${o.status}, OCSP ${o.ocspStatus}`;
  if ("signatureVerified" in o) return o.signatureVerified && o.versionMatch ? "verified" : "NOT verified";
  return JSON.stringify(v);
}

/** A worker's evidence as the gateway verified it: kind, verdict, and each claim. */
function attestationCell(a: NetworkView["workers"][number]["attestation"]): HTMLElement {
  const td = document.createElement("td");
  if (!a) {
    td.append(text("not checked here"));
    return td;
  }
  const claims = a.gpus.flatMap((g) =>
    Object.entries(g.claims)
      .filter(([k]) => k !== "overall")
      .map(([k, v]) => `${k}: ${claimValue(v)}`),
  );
  const kinds = [
    ...new Set(a.gpus.map((g) => (g.kind === "dev-tee" ? "dev TEE (no hardware)" : g.kind))),
  ].join(", ");
  // The verdict in one line; every claim, and any failure, when opened.
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  summary.append(text(`${kinds} ${a.overall ? "✓" : "✗"} — ${claims.length} claims`));
  details.append(
    summary,
    text(`${claims.join(", ")}${a.failures.length ? `; failures: ${a.failures.join("; ")}` : ""}`),
  );
  td.append(details);
  return td;
}

/** An event as the dashboard reads it. */
type DashboardLog = ContractLog<Record<string, unknown>>;

async function main(): Promise<void> {
  const config = (await (await fetch("/dashboard/config.json")).json()) as DashboardConfig;
  const client = createPublicClient({ transport: http(config.rpcUrl) });
  $("gateway").append(text(location.origin));
  $("chain").append(text(`${config.chainId} @ ${config.rpcUrl}`));
  const read = <T>(
    address: Hex,
    abi: readonly unknown[],
    functionName: string,
    args: readonly unknown[] = [],
  ) => client.readContract({ address, abi, functionName, args } as never) as Promise<T>;
  /**
   * Each event stream read so far, and its cursor: a poll reads only the blocks since the last, not the
   * chain since the deployment again. Polls of one stream run one after another (a slow one would
   * otherwise read a range twice); a failed poll reads nothing in (the cursor moves only on success).
   */
  const streams = new Map<string, { cursor: EventCursor; logs: DashboardLog[]; poll: Promise<void> }>();
  /** A contract's events since its deployment (all of them, or those named `eventName`). */
  const events = async (
    address: Hex,
    abi: readonly unknown[],
    eventName?: string,
  ): Promise<readonly DashboardLog[]> => {
    const key = `${address.toLowerCase()} ${eventName ?? ""}`;
    const stream = streams.get(key) ?? {
      cursor: new EventCursor(deployedFrom(config)),
      logs: [],
      poll: Promise.resolve(),
    };
    streams.set(key, stream);
    const poll = stream.poll.then(() =>
      stream.cursor.each<Record<string, unknown>>(
        { public: client },
        { address, abi, ...(eventName ? { eventName } : {}) },
        (log) => {
          stream.logs.push(log);
        },
      ),
    );
    stream.poll = poll.catch(() => {});
    await poll;
    return stream.logs;
  };
  const challengeWindow = Number(await read<bigint>(config.rollup, rollupAbi, "challengeWindow"));
  const chain: ChainFacts = {
    async participant(worker) {
      const p = await read<readonly unknown[]>(config.registry, registryAbi, "participant", [worker]);
      return { role: Number(p[1]), attestationHash: p[3] as Hex, attestedUntil: p[4] as bigint };
    },
    async modelWeights(modelId) {
      return (
        ((await read<readonly unknown[]>(config.registry, registryAbi, "models", [modelId]))[0] as Hex) ??
        "0x"
      );
    },
    async batchRoot(index) {
      // The sequencer's batches and forced receipts (FORCED_BASE + n) alike: a count of 0 is no batch.
      const b = await read<{ root: Hex; count: number }>(config.rollup, rollupAbi, "batch", [BigInt(index)]);
      return b.count === 0 ? null : b.root;
    },
    async now() {
      return (await client.getBlock()).timestamp;
    },
  };

  let last: { at: number; served: number; tokens: number } | null = null;
  async function refresh(): Promise<void> {
    const v = (await (await fetch("/v1/network")).json()) as NetworkView;
    const served = v.workers.reduce((s, w) => s + w.served, 0);
    const now = performance.now();
    const perSecond = (was: number | undefined, is: number) =>
      last && now > last.at ? (Math.max(0, is - (was ?? 0)) * 1000) / (now - last.at) : 0;
    const rate = perSecond(last?.served, served);
    const tokenRate = perSecond(last?.tokens, v.tokensAdmitted);
    last = { at: now, served, tokens: v.tokensAdmitted };
    const r = v.receipts;
    $("overview").replaceChildren(
      card("requests-per-second", "requests/s", rate.toFixed(1)),
      card("tokens-per-second", "tokens/s (receipts admitted)", tokenRate.toFixed(0)),
      ...["provisional", "sealed", "posted", "disputed", "final", "voided"].map((s) =>
        card(`receipts.${s}`, `receipts ${s}`, r[s] ?? 0),
      ),
      card("batches.posted", "batches posted (window open)", v.batches.posted ?? 0),
      card("batches.final", "batches final", v.batches.final ?? 0),
      card("open-batch", "open batch (pending)", `#${v.openBatch.index} (${v.openBatch.pending})`),
      card("overhead.p50", "gateway overhead p50 ms", v.overheadMs.p50?.toFixed(2) ?? "–"),
      card("overhead.p99", "gateway overhead p99 ms", v.overheadMs.p99?.toFixed(2) ?? "–"),
    );
    // Slashes per participant, from the registry's events (disputes lost, proofs missing).
    const slashed = new Map<string, bigint>();
    for (const l of await events(config.registry, registryAbi, "Slashed")) {
      const who = String(l.args.participant).toLowerCase();
      slashed.set(who, (slashed.get(who) ?? 0n) + (l.args.amount as bigint));
    }
    $("histogram").innerHTML = histogram(v.overheadMs.recent ?? []);
    fill(
      "workers",
      v.workers.map((w) => {
        const tr = row(
          [
            w.url,
            w.address ?? "?",
            w.model ?? "?",
            w.healthy ? "yes" : "NO",
            formatVrf(w.stake),
            formatVrf(String(slashed.get((w.address ?? "").toLowerCase()) ?? 0n)),
            w.quality == null ? "–" : w.quality.toFixed(2),
            w.efficiency == null ? "–" : w.efficiency.toFixed(2),
            w.served,
            w.inFlight,
            w.latencyMs,
          ],
          { "data-address": (w.address ?? "").toLowerCase() },
        );
        tr.append(attestationCell(w.attestation));
        return tr;
      }),
    );
    const chainNow = Number((await client.getBlock()).timestamp);
    // The sequencer's batches and the receipts clients forced in (batches of one), newest first.
    const posted = [
      ...(await events(config.rollup, rollupAbi, "BatchPosted")),
      ...(await events(config.rollup, rollupAbi, "ReceiptForced")),
    ].sort((a, b) => Number(a.blockNumber - b.blockNumber));
    const batchRows: HTMLTableRowElement[] = [];
    for (const l of posted.slice(-12).reverse()) {
      const index = l.args.index as bigint;
      const b = await read<{ postedAt: bigint }>(config.rollup, rollupAbi, "batch", [index]);
      const left = Number(b.postedAt) + challengeWindow - chainNow;
      const forced = l.eventName === "ReceiptForced";
      batchRows.push(
        row(
          [
            forced ? `${index} (forced by ${String(l.args.client).slice(0, 10)}…)` : String(index),
            forced ? "1" : String(l.args.count),
            String(l.blockNumber),
            left > 0 ? `closes in ${left} s` : "closed: final",
          ],
          { "data-batch": String(index) },
        ),
      );
    }
    fill("batches", batchRows);
    if (config.spotChecks) {
      const obligations = new Map<string, string[]>();
      for (const l of await events(config.spotChecks, spotChecksAbi)) {
        const key = `${l.args.batch}:${l.args.position}`;
        if (l.eventName === "ObligationOpened") {
          const left = Number(l.args.deadline) - chainNow;
          obligations.set(key, [
            String(l.args.batch),
            String(l.args.position),
            String(l.args.worker),
            left > 0 ? `in ${left} s` : "passed",
            "open: proof due",
          ]);
        }
        const o = obligations.get(key);
        if (o && l.eventName === "ObligationProven") o[4] = "proven (Groth16, on chain)";
        if (o && l.eventName === "ObligationSlashed")
          o[4] = `slashed ${formatVrf(String(l.args.amount))}: proof missing`;
      }
      fill(
        "spotchecks",
        [...obligations.values()].map((o) => row(o)),
      );
      const postedReceipts = ["posted", "disputed", "final", "voided"].reduce((n, s) => n + (r[s] ?? 0), 0);
      $("overview").append(
        card(
          "spot-check-rate",
          "receipts owing a ZK proof",
          postedReceipts
            ? `${((100 * obligations.size) / postedReceipts).toFixed(1)}% (${obligations.size})`
            : "–",
        ),
      );
    }
    if (config.scoreCommits) {
      const phases = new Map<string, string[]>();
      for (const l of await events(config.scoreCommits, scoreCommitsAbi)) {
        const key = `${l.args.epoch}:${l.args.evaluator}`;
        if (l.eventName === "ScoresCommitted")
          phases.set(key, [String(l.args.epoch), String(l.args.evaluator), "committed", "–"]);
        const p = phases.get(key);
        if (p && l.eventName === "ScoresRevealed") {
          p[2] = "revealed";
          p[3] = String(l.args.count);
        }
      }
      fill(
        "evaluators",
        [...phases.values()].map((p) => row(p)),
      );
    }
    if (config.disputeGame) {
      const logs = await events(config.disputeGame, disputeGameAbi);
      const games = new Map<
        string,
        { batch: string; position: string; leaves: string; moves: number; outcome: string }
      >();
      for (const l of logs) {
        const id = String(l.args.game);
        if (l.eventName === "GameOpened")
          games.set(id, {
            batch: String(l.args.batch),
            position: String(l.args.position),
            leaves: String(l.args.leafCount),
            moves: 0,
            outcome: "open",
          });
        const g = games.get(id);
        if (!g) continue;
        if (l.eventName === "Attacked" || l.eventName === "Dissected" || l.eventName === "OneStep") g.moves++;
        if (l.eventName === "Resolved")
          g.outcome = l.args.rootCountered ? "challenger won: receipt voided" : "worker won: receipt stands";
      }
      fill(
        "disputes",
        [...games].map(([id, g]) =>
          row([id, g.batch, g.position, g.leaves, g.moves, g.outcome], {
            "data-game": id,
            "data-outcome": g.outcome,
          }),
        ),
      );
      if (config.dispute) {
        const params: DisputeParams = {
          ...config.dispute,
          bondGasPriceWei: BigInt(config.dispute.bondGasPriceWei),
          workerSlash: BigInt(config.dispute.workerSlash),
        };
        const trees: HTMLElement[] = [];
        for (const l of logs.filter((x) => x.eventName === "GameOpened").slice(-5)) {
          // The disputed receipt's worker is in the challenge's calldata.
          const tx = await client.getTransaction({ hash: l.transactionHash });
          const call = decodeFunctionData({ abi: disputeGameAbi, data: tx.input });
          const worker = (call.args?.[2] as { worker: Hex } | undefined)?.worker ?? ZERO_ADDRESS;
          const { state, resolved } = await mirrorGame(
            { public: client } as never,
            config.disputeGame,
            l.args.game as bigint,
            { traceRoot: l.args.traceRoot as Hex, leafCount: Number(l.args.leafCount), worker },
            params,
          );
          if (state) trees.push(gameTable(String(l.args.game), state, resolved, chainNow * 1000));
        }
        $("games").replaceChildren(...trees);
      }
    }
    const epochs = config.settler ? await fetch("/v1/epochs") : null;
    if (!epochs) fill("epochs", [row(["–", "this network runs no settler", ""])]);
    else if (epochs.ok) {
      const { epochs: list } = (await epochs.json()) as {
        epochs: {
          epoch: number;
          status: string;
          attribution: Record<string, { tokens: string; quality: number }>;
        }[];
      };
      fill(
        "epochs",
        list.map((e) =>
          row([
            e.epoch,
            e.status,
            Object.entries(e.attribution)
              .map(([w, a]) => `${w.slice(0, 10)}… ${a.tokens} × ${a.quality.toFixed(2)}`)
              .join(", ") || "–",
          ]),
        ),
      );
      // Who was paid what in the latest settled epochs, and why (PoEA attribution for workers).
      const rewards: HTMLTableRowElement[] = [];
      for (const e of list
        .filter((x) => x.status !== "empty")
        .slice(-3)
        .reverse()) {
        const full = (await (await fetch(`/v1/epochs/${e.epoch}`)).json()) as {
          entries: { account: string; role: number; weight: string; amount: string }[];
          attribution: Record<string, { tokens: string; quality: number; costPerToken: number }>;
        };
        const cheapest = Math.min(
          ...Object.values(full.attribution)
            .filter((a) => BigInt(a.tokens) > 0n)
            .map((a) => a.costPerToken),
        );
        for (const x of full.entries) {
          const a = full.attribution[x.account.toLowerCase()];
          const why =
            x.role === 0 && a
              ? `${a.tokens} tokens × quality ${a.quality.toFixed(2)} × efficiency ${(cheapest / a.costPerToken).toFixed(2)}`
              : x.role === 1
                ? `PoQ rewards ${formatVrf(x.weight)}`
                : `stake ${formatVrf(x.weight)}`;
          rewards.push(
            row(
              [
                e.epoch,
                x.account,
                ["worker", "evaluator", "fisherman"][x.role] ?? "?",
                why,
                formatVrf(x.amount),
              ],
              {
                "data-epoch": String(e.epoch),
                "data-account": x.account.toLowerCase(),
              },
            ),
          );
        }
      }
      fill("rewards", rewards);
      const trust = (await (await fetch("/v1/trust")).json()) as {
        aggregator: string;
        evaluators: { evaluator: string; weight: number }[];
      };
      fill(
        "trust",
        trust.evaluators.map((t) => row([t.evaluator, trust.aggregator, t.weight.toFixed(3)])),
      );
    }
    $("updated").replaceChildren(text(new Date().toLocaleTimeString()));
  }

  async function explore(): Promise<void> {
    // Cleared at once (synchronously, in the click), so no earlier verdict is ever read as this one's.
    fill("explorer", [row(["…", "", "checking"])]);
    const raw = ($("explore-input") as HTMLTextAreaElement).value.trim();
    let input: ExplorerInput;
    try {
      if (/^0x[0-9a-fA-F]{64}$/.test(raw)) {
        const response = await fetch(`/v1/receipts/${raw}`);
        if (!response.ok) throw new Error(`the gateway holds no receipt ${raw} (HTTP ${response.status})`);
        input = (await response.json()) as ExplorerInput;
      } else input = JSON.parse(raw) as ExplorerInput;
    } catch (e) {
      fill("explorer", [
        row(["input", "✗", (e as Error).message], { "data-check": "input", "data-ok": "false" }),
      ]);
      return;
    }
    const checks = await explainReceipt(input, config, chain);
    fill(
      "explorer",
      checks.map((c) => {
        const tr = row([c.name, c.ok === null ? "–" : c.ok ? "✓" : "✗", c.detail], {
          "data-check": c.name,
          "data-ok": String(c.ok),
        });
        tr.className = c.ok === null ? "skip" : c.ok ? "ok" : "bad";
        return tr;
      }),
    );
  }

  $("explore").addEventListener("click", () => void explore());
  const tick = () =>
    refresh().catch((e: unknown) =>
      $("updated").replaceChildren(text(`unreachable: ${(e as Error).message}`)),
    );
  await tick();
  setInterval(tick, 2000);
}

void main();
