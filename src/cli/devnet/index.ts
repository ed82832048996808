import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { resolveDataDir } from "../../data/dataDir.ts";
import { isGguf } from "../../engine/llamaCpp/llamaCppEngine.ts";
import { VerinferError } from "../../errors.ts";
import { runDemo } from "../../node/devnet/demo.ts";
import { DEFAULT_DEVNET_DIR, type DevnetState, processAlive, startDevnet } from "../../node/devnet/devnet.ts";
import { epochsOfBatches, followEpochs } from "../../node/devnet/epochReport.ts";
import { WORKER_ADVERSARIES, type WorkerAdversary } from "../../node/services/worker/adversaries.ts";
import { renderTable } from "../../report/table.ts";
import { formatVrf } from "../../report/tokens.ts";
import type { CommandContext, CommandSpec, GroupSpec } from "../framework/command.ts";
import { DATA_DIR_OPTION } from "../sharedOptions.ts";

const DIR_OPTION = {
  type: "string",
  value: "DIR",
  default: DEFAULT_DEVNET_DIR,
  description: "the devnet's state folder",
} as const;

function readState(dir: string): DevnetState {
  const path = join(dir, "state.json");
  if (!existsSync(path))
    throw new VerinferError(
      "FILE_NOT_FOUND",
      `no devnet state at ${path} (start one with 'verinfer devnet up')`,
    );
  return JSON.parse(readFileSync(path, "utf8")) as DevnetState;
}

interface NetworkView {
  workers: {
    url: string;
    address: string | null;
    healthy: boolean;
    stake: string;
    served: number;
    inFlight: number;
    latencyMs: number;
    quality?: number | null;
    efficiency?: number | null;
  }[];
  receipts: Record<string, number>;
  batches: Record<string, number>;
  openBatch: { index: number; pending: number };
  overheadMs: { p50: number | null; p99: number | null; samples: number };
}

async function networkView(gatewayUrl: string): Promise<NetworkView> {
  const response = await fetch(`${gatewayUrl}/v1/network`, { signal: AbortSignal.timeout(3000) });
  return (await response.json()) as NetworkView;
}

function networkTables(v: NetworkView): string {
  return [
    renderTable(
      [
        "worker",
        "address",
        "healthy",
        "stake",
        "served",
        "in flight",
        "latency ms",
        "PoQ quality",
        "efficiency",
      ],
      v.workers.map((w) => [
        w.url,
        w.address ?? "?",
        w.healthy ? "yes" : "NO",
        formatVrf(w.stake),
        String(w.served),
        String(w.inFlight),
        String(w.latencyMs),
        w.quality == null ? "-" : w.quality.toFixed(2),
        w.efficiency == null ? "-" : w.efficiency.toFixed(2),
      ]),
      { title: "Workers" },
    ),
    renderTable(
      [
        "receipts provisional",
        "sealed",
        "posted",
        "disputed",
        "final",
        "voided",
        "stale",
        "batches posted",
        "final",
        "open batch",
        "overhead p50 / p99 ms",
      ],
      [
        [
          String(v.receipts.provisional ?? 0),
          String(v.receipts.sealed ?? 0),
          String(v.receipts.posted ?? 0),
          String(v.receipts.disputed ?? 0),
          String(v.receipts.final ?? 0),
          String(v.receipts.voided ?? 0),
          String(v.receipts.stale ?? 0),
          String((v.batches.posted ?? 0) + (v.batches.final ?? 0)),
          String(v.batches.final ?? 0),
          `#${v.openBatch.index} (${v.openBatch.pending})`,
          `${v.overheadMs.p50?.toFixed(2) ?? "-"} / ${v.overheadMs.p99?.toFixed(2) ?? "-"}`,
        ],
      ],
      { title: "Receipts and batches" },
    ),
  ].join("\n\n");
}

/** What the fisherman, the evaluators and the settler report (each null when it does not answer). */
interface RolesView {
  /** Each process's `GET /ready`: true, or why not (null: it does not answer). */
  ready: { role: string; url: string; ready: true | string | null }[];
  disputes: { game: number; batch: number; position: number; status: string }[] | null;
  /** The fisherman's sample rate: configured, and what it sustains under the traffic now. */
  reexecuting: { configured: number; rate: number } | null;
  evaluators: {
    url: string;
    /** The evaluators it scores with (their composite is its score). */
    scoresWith: string | null;
    scores:
      | { epoch: number; scored: number; unavailable: number; withheld: number; status: string | null }[]
      | null;
  }[];
  epochs:
    | {
        epoch: number;
        status: string;
        attribution: Record<string, { tokens: string; quality: number }>;
      }[]
    | null;
}

async function rolesView(processes: readonly { role: string; url: string }[]): Promise<RolesView> {
  const get = async <T>(url: string): Promise<T | null> => {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
      return r.ok ? ((await r.json()) as T) : null;
    } catch {
      return null;
    }
  };
  const of = (role: string) => processes.filter((p) => p.role === role);
  const fisherman = of("fisherman")[0];
  const settler = of("settler")[0];
  const readiness = async (url: string): Promise<true | string | null> => {
    try {
      const r = (await (await fetch(`${url}/ready`, { signal: AbortSignal.timeout(3000) })).json()) as {
        ready: boolean;
        why?: string;
      };
      return r.ready ? true : (r.why ?? "not ready");
    } catch {
      return null;
    }
  };
  const disputes = fisherman
    ? await get<{ games: RolesView["disputes"]; sampling: RolesView["reexecuting"] }>(
        `${fisherman.url}/v1/disputes`,
      )
    : null;
  return {
    ready: await Promise.all(
      processes.map(async (p) => ({ role: p.role, url: p.url, ready: await readiness(p.url) })),
    ),
    disputes: disputes?.games ?? null,
    reexecuting: disputes?.sampling ?? null,
    evaluators: await Promise.all(
      of("evaluator").map(async (e) => {
        const view = await get<{
          scoresWith: string;
          epochs: NonNullable<RolesView["evaluators"][number]["scores"]>;
        }>(`${e.url}/v1/scores`);
        return { url: e.url, scoresWith: view?.scoresWith ?? null, scores: view?.epochs ?? null };
      }),
    ),
    epochs: settler
      ? ((await get<{ epochs: RolesView["epochs"] }>(`${settler.url}/v1/epochs`))?.epochs ?? null)
      : null,
  };
}

const pct = (x: number) => `${+(x * 100).toPrecision(3)}%`;

function rolesTables(r: RolesView): string {
  const parts: string[] = [
    renderTable(
      ["role", "url", "ready"],
      r.ready.map((p) => [
        p.role,
        p.url,
        p.ready === true ? "yes" : p.ready === null ? "not answering" : `no: ${p.ready}`,
      ]),
      { title: "Processes (GET /ready)" },
    ),
  ];
  if (r.disputes)
    parts.push(
      renderTable(
        ["game", "receipt (batch, position)", "fisherman's result"],
        r.disputes.map((g) => [String(g.game), `${g.batch}, ${g.position}`, g.status]),
        {
          title: `Disputes (${r.disputes.length})${
            r.reexecuting
              ? `; the fisherman re-executes ${pct(r.reexecuting.rate)} of receipts (configured ${pct(r.reexecuting.configured)})`
              : ""
          }`,
        },
      ),
    );
  if (r.evaluators.length > 0)
    parts.push(
      renderTable(
        [
          "evaluator",
          "scores with (composite)",
          "receipts scored",
          "0: output not shown",
          "latest epoch",
          "its scores",
        ],
        r.evaluators.map((e) => {
          const last = e.scores?.at(-1);
          return [
            e.url,
            e.scoresWith ?? "?",
            String(e.scores?.reduce((s, x) => s + x.scored, 0) ?? "?"),
            String(e.scores?.reduce((s, x) => s + x.withheld, 0) ?? "?"),
            last ? String(last.epoch) : "-",
            last ? (last.status ?? "scoring") : "-",
          ];
        }),
        { title: "Evaluators (PoQ: commit after the epoch, reveal after the commit phase)" },
      ),
    );
  if (r.epochs)
    parts.push(
      renderTable(
        ["epoch", "status", "workers: verified tokens @ PoQ quality"],
        r.epochs.map((e) => [
          String(e.epoch),
          e.status,
          Object.entries(e.attribution)
            .map(([w, a]) => `${w.slice(0, 8)}… ${a.tokens} @ ${a.quality.toFixed(1)}`)
            .join(", ") || "-",
        ]),
        { title: "Epochs (settler)" },
      ),
    );
  return parts.join("\n\n");
}

async function liveView(
  ctx: CommandContext,
  gatewayUrl: string,
  processes: readonly { role: string; url: string }[],
): Promise<void> {
  const tty = process.stderr.isTTY && !ctx.json;
  let stop = false;
  const stopped = new Promise<void>((resolve) => {
    const done = () => {
      stop = true;
      resolve();
    };
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
  let lastPrinted = 0;
  while (!stop) {
    try {
      const v = await networkView(gatewayUrl);
      if (tty)
        process.stderr.write(
          `\x1b[2J\x1b[H${networkTables(v)}\n\n${rolesTables(await rolesView(processes))}\n\nCtrl-C stops the devnet\n`,
        );
      else if (Date.now() - lastPrinted > 10_000) {
        ctx.info(
          `receipts: ${JSON.stringify(v.receipts)}; batches: ${JSON.stringify(v.batches)}; overhead p50 ${v.overheadMs.p50?.toFixed(2) ?? "-"} ms`,
        );
        lastPrinted = Date.now();
      }
    } catch (e) {
      ctx.info(`gateway unreachable: ${(e as Error).message}`);
    }
    await Promise.race([stopped, new Promise((r) => setTimeout(r, 2000))]);
  }
}

/**
 * The cheat when --adversary is not given: wrong-output in the demo, none otherwise — and none for a
 * GGUF model, which has no execution traces to cheat on (or to dispute). A local file is known by its
 * magic, as the devnet knows it; a URL (not fetched yet) by its name.
 */
export function defaultAdversary(model: string | undefined, demo: boolean): WorkerAdversary {
  const gguf = model !== undefined && (existsSync(model) ? isGguf(model) : /\.gguf$/i.test(model));
  return demo && !gguf ? "wrong-output" : "none";
}

/** The cheat: --adversary, else `defaultAdversary`. */
function adversaryOf(ctx: CommandContext): WorkerAdversary {
  const given = ctx.string("adversary") ?? defaultAdversary(ctx.string("model"), ctx.flag("demo"));
  if (!(WORKER_ADVERSARIES as readonly string[]).includes(given))
    throw new VerinferError(
      "CLI_USAGE",
      `--adversary must be one of ${WORKER_ADVERSARIES.join(", ")}, not ${given}`,
    );
  return given as WorkerAdversary;
}

const upCommand: CommandSpec = {
  name: "up",
  summary:
    "start a whole network on this machine: anvil + contracts, workers, gateway, fisherman, evaluators, settler (the main job)",
  description: [
    "Starts anvil with verinfer's contracts (devnet parameters: batches sealed after 500 ms, a 30 s",
    "challenge window), N workers on the verifiable ts-int engine (each its own process, enclave key, SQLite",
    "store and dev-TEE evidence, registered and staked on chain with an attester's verdict) and the",
    "OpenAI-compatible gateway/sequencer, a fisherman that re-executes and disputes, --evaluators PoQ",
    "evaluators (commit-reveal on chain) and the epoch settler (PoQ rounds, PoEA attribution, the reward",
    "root on chain, claims), then prints the endpoint and the dev keys and shows a live view until Ctrl-C.",
    "Any OpenAI SDK works against the endpoint; every answer carries its signed receipt and provisional",
    "finality in a `verinfer` field, and GET /v1/receipts/{id} follows it to the chain.",
    "--demo sends requests with the official OpenAI SDK, checks every receipt client-side, follows them",
    "until their batches are posted (inclusion proven against the on-chain root) and final, then until",
    "their epoch is settled and paid on chain, prints a summary and stops.",
  ].join("\n"),
  options: {
    workers: { type: "integer", value: "N", default: 3, min: 1, max: 8, description: "worker processes" },
    model: {
      type: "string",
      value: "FILE",
      description:
        "llama2.c checkpoint or GGUF model (path or URL) for the workers (default: a generated tiny model); a GGUF model runs on llama.cpp and is not disputable",
    },
    port: {
      type: "integer",
      value: "N",
      default: 8600,
      min: 0,
      max: 65_535,
      description: "gateway port (0: any free)",
    },
    "rpc-port": {
      type: "integer",
      value: "N",
      default: 0,
      min: 0,
      max: 65_535,
      description: "anvil's port (0: any free)",
    },
    dir: {
      ...DIR_OPTION,
      description:
        "the devnet's state folder, cleared at start (refused if it holds other files, or a devnet that still runs)",
    },
    demo: {
      type: "boolean",
      description: "send requests with the OpenAI SDK, follow them to finality, summarize, stop",
    },
    requests: {
      type: "integer",
      value: "N",
      default: 6,
      min: 1,
      max: 1000,
      description: "requests the demo sends",
    },
    adversary: {
      type: "string",
      value: "KIND",
      description:
        "make the last worker cheat: wrong-output (the default with --demo), downgrade, lazy, leaked-key, withholding or none",
    },
    evaluators: {
      type: "integer",
      value: "N",
      default: 3,
      min: 0,
      max: 8,
      description: "evaluator processes (0: no PoQ scoring and no epoch settlement)",
    },
    colluding: {
      type: "integer",
      value: "N",
      min: 0,
      max: 8,
      description:
        "how many of the evaluators collude, reporting 10 for everything (default 1 with --demo, else 0)",
    },
    "evaluators-per-receipt": {
      type: "integer",
      value: "K",
      min: 1,
      max: 1000,
      description:
        "PoQ's k, fixed in the ScoreCommits contract: evaluators drawn to score each receipt (default 5: with 3 evaluators, each scores every receipt)",
    },
    "data-dir": {
      ...DATA_DIR_OPTION,
      description:
        "STS-B for the evaluators' learned STS, trained once and cached (default: $VERINFER_DATA_DIR, else ../shared/data; none: structure and chrF only)",
    },
    judge: {
      type: "boolean",
      description:
        "the evaluators also ask an LLM judge: this network itself, through its gateway (needs a GGUF chat --model: a verifiable model's receipts cannot span the judge's rubric; a judge never judges its own requests)",
    },
  },
  examples: [
    "npx verinfer devnet up --demo",
    "verinfer devnet up --workers 2 --port 8600",
    "verinfer model convert stories15M.bin --out stories15M.gguf && verinfer devnet up --demo --model stories15M.gguf",
    "verinfer devnet status",
  ],
  async run(ctx) {
    const evaluators = ctx.number("evaluators") as number;
    const colluding = Math.min(
      evaluators,
      ctx.number("colluding") ?? (ctx.flag("demo") && evaluators >= 3 ? 1 : 0),
    );
    const devnet = await startDevnet({
      dir: ctx.string("dir") as string,
      workers: ctx.number("workers") as number,
      model: ctx.string("model"),
      adversary: adversaryOf(ctx),
      gatewayPort: ctx.number("port") as number,
      rpcPort: ctx.number("rpc-port") as number,
      evaluators,
      evaluatorAdversaries: Array.from({ length: evaluators }, (_, i) =>
        i >= evaluators - colluding ? "colluding" : "none",
      ),
      ...(ctx.string("data-dir") !== undefined ? { dataDir: resolveDataDir(ctx.string("data-dir")) } : {}),
      judges: ctx.flag("judge") ? evaluators : 0,
      evaluatorsPerReceipt: ctx.number("evaluators-per-receipt"),
      onProgress: (m) => ctx.info(m),
    });
    try {
      const d = devnet.deployment;
      const keys = devnet.keys.map((key, i) => ({
        role:
          i === 0
            ? "owner + sequencer"
            : i <= devnet.workers.length
              ? `operator of worker ${i}`
              : i === 9
                ? "attester"
                : "spare",
        address: privateKeyToAccount(key).address,
        key,
      }));
      const summary = {
        endpoint: `${devnet.gatewayUrl}/v1`,
        dashboard: `${devnet.gatewayUrl}/dashboard`,
        rpcUrl: devnet.rpcUrl,
        deployment: d,
        workers: devnet.workers.map((w) => ({ url: w.url, address: w.address, operator: w.operator })),
        keys,
        dir: devnet.dir,
      };
      if (!ctx.flag("demo"))
        ctx.output(summary, () =>
          [
            renderTable(
              ["", ""],
              [
                ["OpenAI endpoint", `${devnet.gatewayUrl}/v1`],
                ["dashboard", `${devnet.gatewayUrl}/dashboard`],
                ["chain RPC", devnet.rpcUrl],
                ["rollup (settlement)", d.rollup],
                ["registry", d.registry],
                ["dispute game", d.disputeGame ?? "-"],
                ["state and logs", devnet.dir],
              ],
              { title: "verinfer devnet" },
            ),
            renderTable(
              ["worker", "enclave address", "operator"],
              devnet.workers.map((w) => [w.url, w.address, w.operator]),
              { title: "Workers" },
            ),
            renderTable(
              ["role", "address", "private key"],
              keys.map((k) => [k.role, k.address, k.key]),
              {
                title: "Dev keys (anvil's well-known keys: never use them on a real network)",
              },
            ),
            `Try: curl ${devnet.gatewayUrl}/v1/chat/completions -H 'content-type: application/json' -d '{"messages":[{"role":"user","content":"hi"}],"max_tokens":8}'`,
          ].join("\n\n"),
        );
      if (!ctx.flag("demo")) {
        await liveView(ctx, devnet.gatewayUrl, [
          ...(devnet.fisherman ? [devnet.fisherman] : []),
          ...devnet.evaluators,
          ...(devnet.settler ? [devnet.settler] : []),
        ]);
        ctx.info("stopping the devnet");
        return 0;
      }
      ctx.info(`devnet up: ${devnet.gatewayUrl}/v1 (chain ${devnet.rpcUrl}); running the demo`);
      const cheater = devnet.workers.find((w) => w.adversary !== "none");
      if (cheater)
        ctx.info(
          `worker ${cheater.address} cheats (${cheater.adversary}); the fisherman re-executes every posted receipt`,
        );
      const demo = await runDemo(devnet.gatewayUrl, d, {
        requests: ctx.number("requests") as number,
        log: (l) => ctx.info(l),
        cheater: cheater?.address as `0x${string}` | undefined,
        ...(cheater ? { adversary: cheater.adversary } : {}),
        // anvil's key 7 is nobody's up to 6 workers (keys 1..n are the workers' operators)
        ...(devnet.workers.length <= 6 ? { clientKey: devnet.keys[7] as `0x${string}` } : {}),
      });
      const epochs = devnet.settler
        ? await followEpochs(
            devnet.settler.url,
            d,
            await epochsOfBatches(d, demo.batches),
            Date.now() + 300_000,
            (l) => ctx.info(l),
          )
        : [];
      const view = await networkView(devnet.gatewayUrl);
      const c = demo.cheat;
      const caught = !c || (c.receipts > 0 && c.voidedOnChain === c.receipts && BigInt(c.slashed) > 0n);
      const settled = epochs.every((e) => e !== null);
      const paid = epochs.every((e) => e?.entries.every((x) => x.paidOnChain === x.amount));
      const cheatEarned = epochs
        .flatMap((e) => e?.entries ?? [])
        .filter((x) => x.account.toLowerCase() === c?.worker.toLowerCase())
        .reduce((s, x) => s + BigInt(x.amount), 0n);
      // A leaked key's worker still earns for the receipts its TEE really served; other cheats earn nothing.
      const cheatPaidRightly = cheater?.adversary === "leaked-key" || cheatEarned === 0n;
      const passed =
        cheatPaidRightly &&
        demo.allReceiptsValid &&
        demo.allIncluded &&
        demo.allFinal &&
        caught &&
        settled &&
        paid &&
        (demo.forced?.final ?? true);
      const label = new Map<string, string>([
        ...devnet.workers.map(
          (w, i) =>
            [
              w.address.toLowerCase(),
              `worker ${i + 1}${w.adversary !== "none" ? ` (${w.adversary})` : ""}`,
            ] as const,
        ),
        ...devnet.evaluators.map(
          (e, i) =>
            [
              e.address.toLowerCase(),
              `evaluator ${i + 1}${e.adversary !== "none" ? ` (${e.adversary})` : ""}`,
            ] as const,
        ),
        ...(devnet.fisherman ? [[devnet.fisherman.address.toLowerCase(), "fisherman"] as const] : []),
      ]);
      ctx.output({ ...summary, demo, epochs, network: view, passed }, () =>
        [
          networkTables(view),
          ...epochs.map((e, i) =>
            e === null
              ? `epoch ${i}: NOT settled in time`
              : renderTable(
                  ["account", "role", "verified tokens", "PoQ quality", "reward", "paid on chain"],
                  e.entries.map((x) => [
                    label.get(x.account.toLowerCase()) ?? x.account,
                    x.role,
                    e.attribution[x.account.toLowerCase()]?.tokens ?? "",
                    e.attribution[x.account.toLowerCase()]?.quality.toFixed(2) ?? "",
                    formatVrf(x.amount),
                    formatVrf(x.paidOnChain),
                  ]),
                  { title: `Epoch ${e.epoch} (${e.rounds.length} PoQ rounds; root ${e.root ?? "-"})` },
                ),
          ),
          renderTable(
            ["check", "result"],
            [
              ["requests answered through the OpenAI SDK", String(demo.requests.length)],
              [
                "receipts verified client-side (signature, digest, network)",
                demo.allReceiptsValid ? "all" : "NOT all",
              ],
              ["inclusion proven against the on-chain batch root", demo.allIncluded ? "all" : "NOT all"],
              ["honest receipts final after the challenge window", demo.allFinal ? "all" : "NOT all"],
              ...(c
                ? [
                    [
                      `cheating worker ${c.worker.slice(0, 10)}… (${cheater?.adversary})`,
                      `${c.receipts} ${cheater?.adversary === "leaked-key" ? "forged " : ""}receipts served`,
                    ],
                    [
                      "its receipts disputed by the fisherman and voided on chain",
                      `${c.voidedOnChain} of ${c.receipts}`,
                    ],
                    ["its stake slashed on chain", formatVrf(c.slashed)],
                  ]
                : []),
              ...(devnet.settler
                ? [
                    ["epochs settled on chain and every reward claimed", settled && paid ? "all" : "NOT all"],
                    [
                      cheater?.adversary === "leaked-key"
                        ? "reward paid to the leaked key's worker (its honest receipts only)"
                        : "reward paid to the cheating worker",
                      formatVrf(String(cheatEarned)),
                    ],
                  ]
                : []),
              ...(demo.forced
                ? [
                    [
                      "a receipt its client forced in itself (own index space; counted once in its epoch)",
                      `batch ${demo.forced.batch}: ${demo.forced.final ? "final" : "NOT final"}`,
                    ],
                  ]
                : []),
              ["batches", demo.batches.join(", ")],
              ["waited for finality", `${(demo.waitedForFinalityMs / 1000).toFixed(1)} s`],
            ],
            { title: `Demo ${passed ? "passed" : "FAILED"}` },
          ),
        ].join("\n\n"),
      );
      return passed ? 0 : 1;
    } finally {
      await devnet.stop();
    }
  },
};

const statusCommand: CommandSpec = {
  name: "status",
  summary:
    "show a running devnet: each role ready or why not, workers, stakes, receipts and batches by status, gateway overhead",
  options: { dir: DIR_OPTION },
  examples: ["verinfer devnet status", "verinfer devnet status --json"],
  async run(ctx) {
    const state = readState(ctx.string("dir") as string);
    if (!processAlive(state.pid)) {
      ctx.info(`the devnet (pid ${state.pid}) is not running`);
      return 1;
    }
    const view = await networkView(state.gatewayUrl);
    const roles = await rolesView(state.processes);
    ctx.output(
      { ...state, network: view, roles },
      () =>
        `gateway ${state.gatewayUrl}/v1, chain ${state.rpcUrl}\n\n${networkTables(view)}\n\n${rolesTables(roles)}`,
    );
    return 0;
  },
};

const downCommand: CommandSpec = {
  name: "down",
  summary: "stop a running devnet (its processes drain, then anvil stops)",
  options: { dir: DIR_OPTION },
  examples: ["verinfer devnet down"],
  async run(ctx) {
    const state = readState(ctx.string("dir") as string);
    const stop = async (pids: number[], graceMs: number) => {
      for (const pid of pids) process.kill(pid, "SIGTERM");
      for (let t = 0; t < graceMs && pids.some(processAlive); t += 200)
        await new Promise((r) => setTimeout(r, 200));
      for (const pid of pids.filter(processAlive)) process.kill(pid, "SIGKILL");
    };
    // The roles drain first, against a live chain (a gateway posts what it sealed, a fisherman's last
    // move lands); anvil stops after them, if `up` has not stopped it already.
    const roles = [state.pid, ...state.processes.map((p) => p.pid)].filter(processAlive);
    const anvilRan = processAlive(state.anvilPid);
    await stop(roles, 15_000);
    if (processAlive(state.anvilPid)) await stop([state.anvilPid], 5_000);
    const pids = anvilRan ? [...roles, state.anvilPid] : roles;
    ctx.output({ stopped: pids }, () =>
      pids.length ? `stopped ${pids.length} processes` : "nothing was running",
    );
    return 0;
  },
};

/** `verinfer devnet`. */
export const devnetGroup: GroupSpec = {
  name: "devnet",
  summary: "a whole OTR network on one machine: up [--demo], status, down",
  commands: [upCommand, statusCommand, downCommand],
};
