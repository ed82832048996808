/**
 * `verinfer devnet`: an OTR network on one machine — anvil with the contracts (devnet parameters),
 * workers, a gateway, a fisherman, evaluators and the epoch settler, each its own process
 * (`verinfer node ROLE --config F`) with its own data folder and key files. The devnet also plays the
 * network's owner (registers the model, funds the settler's reward budget) and its attester (signs
 * each worker's registration verdict over its dev-TEE evidence digest).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { devKeys, sharedIssueTime } from "../../attestation/devEvidence.ts";
import { type LocalChain, startAnvil } from "../../chain/anvil.ts";
import { becomeSequencer, send } from "../../chain/clients.ts";
import { clientsFor, coreParamsOf, deployCore } from "../../chain/deploy.ts";
import type { DeploymentFile } from "../../chain/deploymentFile.ts";
import { disputablePositions } from "../../chain/disputeClient.ts";
import { epochsAbi, verinferTokenAbi } from "../../chain/generated/contracts.ts";
import { depositStake } from "../../chain/stake.ts";
import { defaultDataDir } from "../../data/dataDir.ts";
import { promptOf } from "../../engine/engine.ts";
import { PRESETS } from "../../engine/llama2c/generateModel.ts";
import { loadCheckpoint, loadLlama2c, writeGeneratedModel } from "../../engine/llama2c/modelFiles.ts";
import { encode } from "../../engine/llama2c/tokenizer.ts";
import { checkGgufHeader, isGguf } from "../../engine/llamaCpp/llamaCppEngine.ts";
import { VerinferError } from "../../errors.ts";
import { obtainStsModel } from "../../evaluators/learnedSts/store.ts";
import { judgeMessages } from "../../evaluators/llmJudge/llmJudge.ts";
import { buildDevTee } from "../../protocol/attestation/devTee.ts";
import { keccakUtf8 } from "../../protocol/encoding/keccak.ts";
import { DEVNET_OTR_PARAMS } from "../../protocol/params/otr.ts";
import { jsonText } from "../../report/json.ts";
import { ensureCompiled, SPOTCHECK_CIRCUIT } from "../../zk/circuit.ts";
import { pinnedDevRoot } from "../attester.ts";
import { writeKeyFile } from "../keys.ts";
import { Latest } from "../latest.ts";
import type { Role } from "../nodeConfig.ts";
import { attesterAddress, fetchWorker, registerModelOf, registerWorker } from "../registration.ts";
import { addressOfKey } from "../roleAuth.ts";
import type { NodeReady } from "../runNode.ts";
import type { EvaluatorAdversary } from "../services/evaluator/evaluatorService.ts";
import { defaultEvaluators } from "../services/evaluator/nodeEvaluator.ts";
import type { WorkerAdversary } from "../services/worker/adversaries.ts";
import type { WorkerIdentity } from "../services/worker/workerService.ts";
import { localModel } from "./modelSource.ts";
import { buildRoleBundle } from "./roleBundle.ts";

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), "../../../bin/verinfer.mjs");

export interface DevnetOptions {
  /** Folder for the devnet's state (wiped at start: a devnet starts from a fresh chain). */
  readonly dir: string;
  readonly workers: number;
  /**
   * llama2.c checkpoint or GGUF model, path or URL; default: a generated tiny model (seed 7). A GGUF
   * model runs on llama.cpp: attested, scored and paid, but not disputable (no fisherman, no cheats).
   */
  readonly model?: string | undefined;
  readonly modelName?: string | undefined;
  /** The cheat the last worker plays (none: every worker is honest). */
  readonly adversary: WorkerAdversary;
  /** Each worker's part, overriding `adversary` (tests put several cheats on one network). */
  readonly adversaries?: readonly WorkerAdversary[];
  readonly gatewayPort: number;
  readonly rpcPort: number;
  /** Start the fisherman (default true; the throughput bench leaves it out: it re-executes every receipt). */
  readonly fisherman?: boolean;
  /** Spot-check rate in parts per million (default the devnet parameters': 1%). */
  readonly rhoPpm?: number;
  /**
   * The `engineNice` of the workers' generation threads and the fisherman's re-execution thread (default
   * their configs', 10; the soak compares it with 0).
   */
  readonly engineNice?: number;
  /** Evaluator processes (default 3; 0: no PoQ and no epoch settlement). */
  readonly evaluators?: number;
  /**
   * PoQ's k, deployed in ScoreCommits: evaluators drawn to score each receipt (default the devnet
   * parameters': 5, so that up to 5 evaluators each score every receipt).
   */
  readonly evaluatorsPerReceipt?: number | undefined;
  /** Each evaluator's part (default all honest); "colluding" ones report 10 for everything. */
  readonly evaluatorAdversaries?: readonly EvaluatorAdversary[];
  /**
   * How many of the evaluators (the first ones) also ask an LLM judge: this devnet itself, its gateway
   * serving the workers' model (`llm-judge` at GATEWAY/v1; default 0). The judge's requests are receipts
   * too, which the protocol samples evaluators for; a judge never judges its own requests. A judge needs
   * a model that follows its rubric, served by llama.cpp (a GGUF model): a verifiable model's receipts
   * cannot span the rubric (`judgeFits`), and a generated model's replies hold no score
   * (JUDGE_REPLY_INVALID).
   */
  readonly judges?: number;
  /** anvil keeps its state in the devnet's folder, so that `chain.restart` resumes the chain (tests). */
  readonly restartableChain?: boolean;
  /**
   * Data directory with STS-B (`stsbenchmark/`), on which the evaluators' learned STS model is trained
   * once and cached; default `VERINFER_DATA_DIR` or `../shared/data` where one exists. Null, or none
   * found: the evaluators score structure and lexical alignment only.
   */
  readonly dataDir?: string | null;
  /** The RPC URL the gateway uses (tests put a proxy they can cut in front of anvil); default anvil's. */
  readonly gatewayRpc?: (anvilUrl: string) => Promise<string>;
  readonly onProgress?: (message: string) => void;
}

/** One started process of the devnet. */
export interface DevnetProcess {
  readonly role: Role;
  readonly url: string;
  readonly address: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly config: string;
}

/** A running devnet. */
export interface Devnet {
  readonly dir: string;
  readonly rpcUrl: string;
  readonly gatewayUrl: string;
  readonly deployment: DeploymentFile;
  readonly chain: LocalChain;
  readonly gateway: DevnetProcess;
  readonly fisherman: DevnetProcess | null;
  readonly evaluators: readonly (DevnetProcess & { readonly adversary: EvaluatorAdversary })[];
  readonly settler: DevnetProcess | null;
  readonly workers: readonly (DevnetProcess & {
    readonly operator: Hex;
    readonly adversary: WorkerAdversary;
  })[];
  /** anvil's funded dev keys (0: owner and sequencer, 1..n: worker operators, 8: fisherman, 9: attester). */
  readonly keys: readonly Hex[];
  /** Stops every process (SIGTERM, then SIGKILL after 5 s) and the chain. */
  stop(): Promise<void>;
}

/** The state file `devnet status` and `devnet down` read. */
export interface DevnetState {
  readonly kind: "verinfer.devnet";
  readonly pid: number;
  readonly rpcUrl: string;
  readonly gatewayUrl: string;
  readonly processes: readonly { role: string; url: string; address: string; pid: number }[];
  readonly anvilPid: number;
  readonly deployment: string;
}

export const DEFAULT_DEVNET_DIR = ".verinfer/devnet";

/**
 * Recent blocks whose states the devnet's anvil keeps, as a full node does (geth keeps 128): its memory
 * stays bounded (3 GB after 40 minutes of the chaos soak when it kept them all). No role reads state at
 * an older block: the settler replays past stakes from the registry's events (`Registrations`).
 */
export const DEVNET_KEPT_STATES = 128;

/** What a role process runs: the CLI's bundle (roleBundle.ts), or bin/verinfer.mjs through tsx. */
export type RoleEntry = "bundle" | "tsx";

let bundled: Promise<readonly string[]> | null = null;

/** Node's arguments before the CLI's: the bundle is built once per process (bin/verinfer.mjs if it cannot be written). */
async function entryArgs(entry: RoleEntry): Promise<readonly string[]> {
  if (entry === "tsx") return [BIN];
  bundled ??= buildRoleBundle().then((bundle) => (bundle ? ["--enable-source-maps", bundle] : [BIN]));
  return bundled;
}

/** Spawns `verinfer node ROLE --config F` and waits for its ready line. */
export async function spawnRole(
  role: DevnetProcess["role"],
  config: string,
  logFile: string,
  entry: RoleEntry = "bundle",
): Promise<DevnetProcess> {
  const child = spawn(process.execPath, [...(await entryArgs(entry)), "node", role, "--config", config], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  const log = new Latest<string>(200);
  child.stderr?.on("data", (d: Buffer) => {
    log.push(d.toString());
    writeFileSync(logFile, d, { flag: "a" });
  });
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new VerinferError("CONFIG_INVALID", `the ${role} did not start within 120 s; see ${logFile}`));
    }, 120_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(
        new VerinferError(
          "CONFIG_INVALID",
          `the ${role} exited with ${code} before it was ready: ${log.items.join("").slice(-2000)}`,
        ),
      );
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      let ready: NodeReady | null = null;
      try {
        ready = JSON.parse(line) as NodeReady;
      } catch {
        return;
      }
      if (!ready?.ready) return;
      clearTimeout(timer);
      child.removeAllListeners("exit");
      resolveReady({ role, url: ready.url, address: ready.address, pid: ready.pid, child, config });
    });
  });
}

/** Stops a child: SIGTERM (it drains), SIGKILL after `graceMs`. */
export function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    child.once("exit", () => done());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), graceMs).unref();
  });
}

/**
 * The learned STS model file the evaluators score alignment with, trained on the data directory's STS-B
 * (once: it is cached); undefined without a data directory.
 */
function learnedStsModel(
  dataDir: string | null | undefined,
  progress: (message: string) => void,
): string | undefined {
  const data = dataDir === undefined ? defaultDataDir() : dataDir === null ? null : resolve(dataDir);
  if (data === null) {
    progress("no data directory (STS-B): the evaluators score structure and lexical alignment (chrF) only");
    return undefined;
  }
  progress(
    `evaluators score structure and alignment, lexical (chrF) and learned STS (trained once on STS-B in ${data}, then cached)`,
  );
  return obtainStsModel({ dataDir: data }).path;
}

/**
 * Refuses a judge the model cannot be: a llama2.c model whose receipts cannot span the judge's request
 * (its rubric, an empty request and answer) — its workers serve at most the positions a dispute of it
 * can bisect (`disputablePositions`, the game's gas bound), fewer than the rubric takes at any size. (A
 * GGUF model's context is not read here; its workers refuse a request too long for it, and the judge
 * reports that.)
 */
export function judgeFits(model: string): void {
  const { checkpoint, tokenizer } = loadLlama2c(model);
  const asked = encode(tokenizer, promptOf({ messages: judgeMessages({ query: "", output: "" }) }), true);
  const span = disputablePositions(checkpoint.config.dim, checkpoint.config.seqLen);
  if (asked.length >= span)
    throw new VerinferError(
      "CONFIG_INVALID",
      `--judge: the judge's request alone is ${asked.length} tokens and a receipt of ${model} spans at most ${span} positions (what a dispute can bisect); give a --model that follows instructions, served by llama.cpp (a GGUF chat model)`,
    );
}

/** The file that marks a folder as a devnet's own: `devnet up` clears no other. */
const DEVNET_MARK = ".verinfer-devnet";

/**
 * Whether process `pid` runs and is one a devnet starts (node running verinfer, or anvil): a pid in an
 * old state file may since belong to something else, which `down` must not signal. Where /proc cannot
 * tell, a running process counts.
 */
export const processAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return /verinfer|anvil/.test(readFileSync(`/proc/${pid}/cmdline`, "latin1"));
  } catch {
    return true;
  }
};

/**
 * Clears `dir` for a new devnet, refusing (CONFIG_INVALID) a folder that holds anything but an earlier
 * devnet (a mistyped --dir is never wiped) and one whose devnet still runs (its stores and keys are in
 * use); then marks it as a devnet's.
 */
export function claimDevnetDir(dir: string): void {
  if (existsSync(dir)) {
    const entries = readdirSync(dir);
    const state = join(dir, "state.json");
    const ours = entries.includes(DEVNET_MARK) || existsSync(state);
    if (entries.length > 0 && !ours)
      throw new VerinferError(
        "CONFIG_INVALID",
        `${dir} holds files and is no devnet's folder: devnet up clears its folder, so give it a new or empty one (--dir)`,
      );
    if (existsSync(state)) {
      let s: Partial<DevnetState> = {};
      try {
        s = JSON.parse(readFileSync(state, "utf8")) as DevnetState;
      } catch {
        // A torn state file: the devnet that wrote it is gone.
      }
      const running = [s.pid, s.anvilPid, ...(s.processes ?? []).map((p) => p.pid)].filter(
        (pid): pid is number => typeof pid === "number" && pid !== process.pid && processAlive(pid),
      );
      if (running.length > 0)
        throw new VerinferError(
          "CONFIG_INVALID",
          `a devnet is running in ${dir} (pids ${running.join(", ")}): stop it first with 'verinfer devnet down --dir ${dir}', or give another --dir`,
        );
    }
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(join(dir, "logs"), { recursive: true });
  writeFileSync(join(dir, DEVNET_MARK), "a verinfer devnet's folder: devnet up clears it\n");
}

/** Starts a devnet; on any failure everything started so far is stopped. */
export async function startDevnet(o: DevnetOptions): Promise<Devnet> {
  const progress = o.onProgress ?? (() => {});
  const dir = resolve(o.dir);
  claimDevnetDir(dir);
  let model = o.model ? await localModel(o.model, join(dir, "model")) : undefined;
  if (!model) {
    model = join(dir, "model", "tiny.bin");
    mkdirSync(dirname(model), { recursive: true });
    writeGeneratedModel(model, PRESETS.tiny as NonNullable<typeof PRESETS.tiny>, 7);
  }
  // A bad model file fails here, before anything starts.
  const gguf = isGguf(model);
  if (gguf) checkGgufHeader(model);
  else loadCheckpoint(model);
  if (gguf && [o.adversary, ...(o.adversaries ?? [])].some((a) => a !== undefined && a !== "none"))
    throw new VerinferError(
      "CONFIG_INVALID",
      `${model} is a GGUF model (llama.cpp, no execution traces): the workers' cheats need the verifiable engine`,
    );
  if ((o.judges ?? 0) > 0 && !gguf) judgeFits(model);
  const evaluatorsWanted = o.evaluators ?? 3;
  const modelName = o.modelName ?? "verinfer-tiny";
  const stsModel = evaluatorsWanted > 0 ? learnedStsModel(o.dataDir, progress) : undefined;
  progress("starting anvil");
  const chain = await startAnvil({
    port: o.rpcPort,
    keptStates: DEVNET_KEPT_STATES,
    ...(o.restartableChain ? { state: join(dir, "anvil-state.json") } : {}),
  });
  const started: ChildProcess[] = [];
  const stopAll = async () => {
    await Promise.all(started.map((c) => stopProcess(c)));
    await chain.stop();
  };
  try {
    const keys = chain.keys;
    const owner = clientsFor(chain.rpcUrl, chain.chainId, keys[0] as Hex);
    progress("deploying the contracts (devnet parameters: 30 s challenge window, 20 s dispute clocks)");
    const params = {
      ...DEVNET_OTR_PARAMS,
      spotcheck: { ...DEVNET_OTR_PARAMS.spotcheck, rhoPpm: o.rhoPpm ?? DEVNET_OTR_PARAMS.spotcheck.rhoPpm },
      poea: {
        ...DEVNET_OTR_PARAMS.poea,
        evaluatorsPerReceipt: o.evaluatorsPerReceipt ?? DEVNET_OTR_PARAMS.poea.evaluatorsPerReceipt,
      },
    };
    const d = await deployCore(owner, coreParamsOf(params));
    await becomeSequencer(owner, d, DEVNET_OTR_PARAMS.rollup.sequencerBond);
    const deployment: DeploymentFile = { kind: "verinfer.deployment", rpcUrl: chain.rpcUrl, ...d };
    const deploymentFile = join(dir, "deployment.json");
    writeFileSync(deploymentFile, jsonText(deployment));
    const sequencerKey = keys[0] as Hex;
    mkdirSync(join(dir, "gateway"), { recursive: true });
    const gatewayKeyFile = join(dir, "gateway", "sequencer.key");
    writeKeyFile(gatewayKeyFile, sequencerKey);
    const gatewayAddress = addressOfKey(sequencerKey);
    // One dev TEE "manufacturer" for the devnet: its root is what the attester pins.
    const devTeeKeys = join(dir, "dev-tee");
    const devRootPem = buildDevTee(devKeys(devTeeKeys).keys, sharedIssueTime(devTeeKeys, Date.now())).rootPem;
    const devRoot = pinnedDevRoot(devRootPem);
    // The gateway pins it too, to show each worker's claims on the dashboard.
    const devRootFile = join(devTeeKeys, "root.pem");
    writeFileSync(devRootFile, devRootPem);
    if (!gguf) {
      // Once, before the workers, each of which would compile it before it is ready (at once, on cores
      // they share): a fresh checkout has not compiled it.
      progress("the spot-check circuit (compiled once per checkout, before the workers start)");
      await ensureCompiled(SPOTCHECK_CIRCUIT);
    }
    progress(`starting ${o.workers} workers`);
    const workerProcs = await Promise.all(
      Array.from({ length: o.workers }, async (_, i) => {
        const adversary: WorkerAdversary =
          o.adversaries?.[i] ?? (o.adversary !== "none" && i === o.workers - 1 ? o.adversary : "none");
        const dataDir = join(dir, `worker-${i + 1}`);
        mkdirSync(dataDir, { recursive: true });
        const config = join(dir, `worker-${i + 1}.json`);
        const operatorKeyFile = join(dataDir, "operator.key");
        writeKeyFile(operatorKeyFile, keys[i + 1] as Hex);
        writeFileSync(
          config,
          jsonText({
            worker: {
              port: 0,
              dataDir,
              deployment: deploymentFile,
              model,
              modelName,
              gateways: [gatewayAddress],
              adversary,
              devTeeKeys,
              operatorKeyFile,
              ...(o.engineNice === undefined ? {} : { engineNice: o.engineNice }),
            },
          }),
        );
        const p = await spawnRole("worker", config, join(dir, "logs", `worker-${i + 1}.log`));
        started.push(p.child);
        return { ...p, operator: privateKeyToAccount(keys[i + 1] as Hex).address as Hex, adversary };
      }),
    );
    progress("registering the workers (dev-TEE evidence verified by the attester, verdicts, stakes)");
    const attesterKey = keys[9] as Hex;
    const fetched = await Promise.all(workerProcs.map((w) => fetchWorker(w.url)));
    const first = fetched[0]?.identity as WorkerIdentity;
    await registerModelOf(owner, d, first, attesterAddress(attesterKey));
    for (const [i, { identity, evidence }] of fetched.entries())
      await registerWorker({
        deployment: d,
        identity,
        evidence,
        operator: clientsFor(chain.rpcUrl, d.chainId, keys[i + 1] as Hex),
        attesterKey,
        attest: { devRoot },
        stake: 2n * DEVNET_OTR_PARAMS.poea.minWorkerStake,
        validSeconds: 30n * 86_400n,
        faucet: owner,
      });
    // The owner's other transactions run before the gateway starts: it posts from the same account.
    const roleKey = (label: string) => keccakUtf8(`verinfer devnet ${label}`);
    const fund = async (key: Hex, tokens: bigint) => {
      const who = addressOfKey(key);
      await owner.public.request({
        method: "anvil_setBalance",
        params: [who, "0x56bc75e2d63100000"],
      } as never);
      if (tokens > 0n) await send(owner, d.token, verinferTokenAbi, "mint", [who, tokens]);
    };
    /** Registers an account as evaluator or fisherman and stakes `stake` from a faucet mint. */
    const registerParticipant = async (key: Hex, role: "evaluator" | "fisherman", stake: bigint) => {
      await fund(key, stake);
      await depositStake(clientsFor(chain.rpcUrl, d.chainId, key), d, addressOfKey(key), stake, role);
    };
    // (Staked fishermen share the fishermen's reward pool: only one that runs is registered.)
    if (o.fisherman !== false && !gguf)
      await registerParticipant(keys[8] as Hex, "fisherman", DEVNET_OTR_PARAMS.poea.minEvaluatorStake);
    const evaluatorCount = d.scoreCommits && d.epochs ? evaluatorsWanted : 0;
    const evaluatorKeys = Array.from({ length: evaluatorCount }, (_, i) => roleKey(`evaluator ${i + 1}`));
    for (const key of evaluatorKeys)
      await registerParticipant(key, "evaluator", DEVNET_OTR_PARAMS.poea.minEvaluatorStake);
    const settlerKey = roleKey("settler");
    if (evaluatorCount > 0) {
      // The settler's reward budget: a faucet mint standing in for the token's emission schedule.
      await fund(settlerKey, 1_000n * DEVNET_OTR_PARAMS.poea.epochRewards);
      await send(owner, d.epochs as Hex, epochsAbi, "setSettler", [addressOfKey(settlerKey)]);
    }
    // From here blocks come every second, as on a real chain: chain time (and so the challenge windows
    // and dispute clocks) advances even when nobody transacts. Setup ran on automine, for speed.
    await owner.public.request({ method: "evm_setIntervalMining", params: [1] } as never);
    // The settler first: the gateway routes by the PoQ quality and cost of its epochs.
    let settler: DevnetProcess | null = null;
    if (evaluatorCount > 0) {
      progress("starting the epoch settler");
      const dataDir = join(dir, "settler");
      mkdirSync(dataDir, { recursive: true });
      const keyFile = join(dataDir, "account.key");
      writeKeyFile(keyFile, settlerKey);
      const config = join(dir, "settler.json");
      writeFileSync(config, jsonText({ settler: { port: 0, dataDir, deployment: deploymentFile, keyFile } }));
      settler = await spawnRole("settler", config, join(dir, "logs", "settler.log"));
      started.push(settler.child);
    }
    progress("starting the gateway");
    const gatewayConfig = join(dir, "gateway.json");
    writeFileSync(
      gatewayConfig,
      jsonText({
        gateway: {
          port: o.gatewayPort,
          dataDir: join(dir, "gateway"),
          deployment: deploymentFile,
          keyFile: gatewayKeyFile,
          workers: workerProcs.map((w) => w.url),
          params: "devnet",
          // anvil reorganises only when told to (the soak's chaos does, 10 s deep, within the 30 s windows);
          // its `finalized` block trails the head by 64 blocks, a minute of every receipt's finality.
          finality: "latest",
          ...(settler ? { settler: settler.url } : {}),
          devRoot: devRootFile,
          ...(o.gatewayRpc ? { rpcUrl: await o.gatewayRpc(chain.rpcUrl) } : {}),
        },
      }),
    );
    const gateway = await spawnRole("gateway", gatewayConfig, join(dir, "logs", "gateway.log"));
    started.push(gateway.child);
    const startFisherman = async (): Promise<DevnetProcess> => {
      progress("starting the fisherman (re-executes every posted receipt)");
      mkdirSync(join(dir, "fisherman"), { recursive: true });
      const fishermanKeyFile = join(dir, "fisherman", "account.key");
      writeKeyFile(fishermanKeyFile, keys[8] as Hex);
      const fishermanConfig = join(dir, "fisherman.json");
      writeFileSync(
        fishermanConfig,
        jsonText({
          fisherman: {
            port: 0,
            dataDir: join(dir, "fisherman"),
            deployment: deploymentFile,
            keyFile: fishermanKeyFile,
            model,
            gateway: gateway.url,
            params: "devnet",
            ...(o.engineNice === undefined ? {} : { engineNice: o.engineNice }),
          },
        }),
      );
      const f = await spawnRole("fisherman", fishermanConfig, join(dir, "logs", "fisherman.log"));
      started.push(f.child);
      return f;
    };
    if (gguf)
      progress("no fisherman: a GGUF model records no execution trace, so its receipts cannot be disputed");
    const fisherman = o.fisherman === false || gguf ? null : await startFisherman();
    if (evaluatorCount > 0) progress(`starting ${evaluatorCount} evaluators`);
    const judges = Math.min(o.judges ?? 0, evaluatorCount);
    if (judges > 0)
      progress(
        `${judges === evaluatorCount ? "the evaluators" : `${judges} of the evaluators`} also ask an LLM judge: this network itself (${gateway.url}/v1, model ${modelName})`,
      );
    const evaluators = await Promise.all(
      evaluatorKeys.map(async (key, i) => {
        const adversary = o.evaluatorAdversaries?.[i] ?? "none";
        const dataDir = join(dir, `evaluator-${i + 1}`);
        mkdirSync(dataDir, { recursive: true });
        const keyFile = join(dataDir, "account.key");
        writeKeyFile(keyFile, key);
        const config = join(dir, `evaluator-${i + 1}.json`);
        writeFileSync(
          config,
          jsonText({
            evaluator: {
              port: 0,
              dataDir,
              deployment: deploymentFile,
              keyFile,
              model,
              gateway: gateway.url,
              adversary,
              ...(stsModel ? { stsModel } : {}),
              ...(i < judges
                ? {
                    evaluator: `${defaultEvaluators(stsModel)},llm-judge`,
                    judgeUrl: `${gateway.url}/v1`,
                    judgeModel: modelName,
                  }
                : {}),
            },
          }),
        );
        const p = await spawnRole("evaluator", config, join(dir, "logs", `evaluator-${i + 1}.log`));
        started.push(p.child);
        return { ...p, adversary };
      }),
    );
    const devnet: Devnet = {
      dir,
      rpcUrl: chain.rpcUrl,
      gatewayUrl: gateway.url,
      deployment,
      chain,
      gateway,
      fisherman,
      evaluators,
      settler,
      workers: workerProcs,
      keys,
      stop: stopAll,
    };
    const state: DevnetState = {
      kind: "verinfer.devnet",
      pid: process.pid,
      rpcUrl: chain.rpcUrl,
      gatewayUrl: gateway.url,
      processes: [
        gateway,
        ...(fisherman ? [fisherman] : []),
        ...workerProcs,
        ...evaluators,
        ...(settler ? [settler] : []),
      ].map((p) => ({
        role: p.role,
        url: p.url,
        address: p.address,
        pid: p.pid,
      })),
      anvilPid: chain.pid,
      deployment: deploymentFile,
    };
    writeFileSync(join(dir, "state.json"), jsonText(state));
    return devnet;
  } catch (e) {
    await stopAll();
    throw e;
  }
}
