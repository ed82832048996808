import { describe, expect, it } from "vitest";
import { resolveRoleConfig, roleEnvNames } from "./nodeConfig.ts";

const problemsOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return "";
};

/** A fisherman's required options. */
const fisherman = {
  dataDir: "d",
  deployment: "dep.json",
  keyFile: "k",
  model: "m.bin",
  gateway: "http://127.0.0.1:8600",
};

describe("node configs", () => {
  it("resolve defaults < environment < flags", () => {
    const env = { VERINFER_EVALUATOR_EVALUATOR: "alignment:rouge-l", VERINFER_EVALUATOR_PORT: "9300" };
    const c = resolveRoleConfig("evaluator", undefined, env, {
      dataDir: "d",
      deployment: "dep.json",
      keyFile: "k",
      model: "m.bin",
      gateway: "http://127.0.0.1:8600",
      port: 9400,
    });
    expect(c).toMatchObject({
      evaluator: "alignment:rouge-l",
      port: 9400,
      adversary: "none",
      params: "devnet",
    });
    expect(roleEnvNames("evaluator").judgeUrl).toBe("VERINFER_EVALUATOR_JUDGE_URL");
    const s = resolveRoleConfig(
      "settler",
      undefined,
      {},
      { dataDir: "d", deployment: "dep.json", keyFile: "k" },
    );
    expect(s).toMatchObject({ port: 8604, pollMs: 1000, mode: "settle" });
    // An auditor posts nothing: it needs no key.
    const audit = { VERINFER_SETTLER_MODE: "audit" };
    expect(
      resolveRoleConfig("settler", undefined, audit, { dataDir: "d", deployment: "dep.json" }),
    ).toMatchObject({ mode: "audit" });
  });

  it("give every role a fee ceiling and a re-send period, from the environment, and refuse non-positive ones", () => {
    const base = { dataDir: "d", deployment: "dep.json", keyFile: "k", workers: ["http://127.0.0.1:8601"] };
    expect(resolveRoleConfig("gateway", undefined, {}, base).maxFeeGwei).toBeUndefined();
    expect(
      resolveRoleConfig("gateway", undefined, { VERINFER_GATEWAY_MAX_FEE_GWEI: "2.5" }, base).maxFeeGwei,
    ).toBe(2.5);
    expect(
      problemsOf(() => resolveRoleConfig("gateway", undefined, { VERINFER_GATEWAY_MAX_FEE_GWEI: "0" }, base)),
    ).toMatch(/maxFeeGwei/);
    const worker = {
      dataDir: "d",
      deployment: "dep.json",
      model: "m.bin",
      gateways: [`0x${"1".repeat(40)}`],
    };
    expect(resolveRoleConfig("worker", undefined, {}, worker)).toMatchObject({ resendAfterSeconds: 30 });
    expect(
      resolveRoleConfig(
        "worker",
        undefined,
        { VERINFER_WORKER_MAX_FEE_GWEI: "40", VERINFER_WORKER_RESEND_AFTER_SECONDS: "12" },
        worker,
      ),
    ).toMatchObject({ maxFeeGwei: 40, resendAfterSeconds: 12 });
    expect(
      problemsOf(() =>
        resolveRoleConfig("fisherman", undefined, { VERINFER_FISHERMAN_RESEND_AFTER_SECONDS: "-1" }, {}),
      ),
    ).toMatch(/resendAfterSeconds/);
  });

  it("give the fisherman a re-execution share in (0, 1], 0.8 unless set, and no seed unless set", () => {
    expect(resolveRoleConfig("fisherman", undefined, {}, fisherman)).toMatchObject({ reexecutionShare: 0.8 });
    // No seed unless one is configured: runNode derives a secret one from the account key.
    expect(resolveRoleConfig("fisherman", undefined, {}, fisherman).seed).toBeUndefined();
    expect(resolveRoleConfig("fisherman", undefined, { VERINFER_FISHERMAN_SEED: "7" }, fisherman).seed).toBe(
      7,
    );
    expect(
      resolveRoleConfig("fisherman", undefined, { VERINFER_FISHERMAN_REEXECUTION_SHARE: "0.5" }, fisherman),
    ).toMatchObject({ reexecutionShare: 0.5 });
    for (const share of ["0", "1.5", "-0.2", "most"])
      expect(
        problemsOf(() =>
          resolveRoleConfig(
            "fisherman",
            undefined,
            { VERINFER_FISHERMAN_REEXECUTION_SHARE: share },
            fisherman,
          ),
        ),
      ).toMatch(/reexecutionShare/);
  });

  it("put a fisherman in a crew with its place and the crew's key file, and refuse a crew without them", () => {
    expect(resolveRoleConfig("fisherman", undefined, {}, fisherman)).toMatchObject({
      crewSize: 1,
      crewMember: 0,
    });
    const crew = { VERINFER_FISHERMAN_CREW_SIZE: "3", VERINFER_FISHERMAN_CREW_KEY_FILE: "crew.key" };
    expect(
      resolveRoleConfig("fisherman", undefined, { ...crew, VERINFER_FISHERMAN_CREW_MEMBER: "2" }, fisherman),
    ).toMatchObject({ crewSize: 3, crewMember: 2, crewKeyFile: "crew.key" });
    const refused = (env: Record<string, string>) =>
      problemsOf(() => resolveRoleConfig("fisherman", undefined, env, fisherman));
    expect(refused({ ...crew, VERINFER_FISHERMAN_CREW_MEMBER: "3" })).toMatch(
      /crewMember: must be below crewSize/,
    );
    expect(refused({ ...crew, VERINFER_FISHERMAN_CREW_MEMBER: "-1" })).toMatch(/crewMember/);
    expect(refused({ VERINFER_FISHERMAN_CREW_SIZE: "2" })).toMatch(/crewKeyFile: is required with a crew/);
    expect(refused({ ...crew, VERINFER_FISHERMAN_SEED: "7" })).toMatch(/seed: cannot be set with a crew/);
    for (const size of ["0", "1.5", "all"])
      expect(refused({ ...crew, VERINFER_FISHERMAN_CREW_SIZE: size })).toMatch(/crewSize/);
  });

  it("let a worker keep contexts for a positive number of seconds, the protocol's horizon unless set", () => {
    const worker = { dataDir: "d", deployment: "dep.json", model: "m.bin", gateways: `0x${"11".repeat(20)}` };
    expect(resolveRoleConfig("worker", undefined, {}, worker).contextRetentionSeconds).toBeUndefined();
    expect(
      resolveRoleConfig("worker", undefined, { VERINFER_WORKER_CONTEXT_RETENTION_SECONDS: "90" }, worker),
    ).toMatchObject({ contextRetentionSeconds: 90 });
    for (const seconds of ["0", "-5", "forever"])
      expect(
        problemsOf(() =>
          resolveRoleConfig(
            "worker",
            undefined,
            { VERINFER_WORKER_CONTEXT_RETENTION_SECONDS: seconds },
            worker,
          ),
        ),
      ).toMatch(/contextRetentionSeconds/);
  });

  it("report every problem at once", () => {
    const message = problemsOf(() =>
      resolveRoleConfig(
        "evaluator",
        undefined,
        {},
        { adversary: "bribed", gateway: "not a url", port: 70_000 },
      ),
    );
    for (const field of ["adversary", "gateway", "port", "keyFile", "model", "dataDir", "deployment"])
      expect(message).toContain(field);
    expect(
      problemsOf(() => resolveRoleConfig("settler", undefined, {}, { dataDir: "d", deployment: "dep.json" })),
    ).toMatch(/keyFile.*unless mode is audit/);
    expect(
      problemsOf(() => resolveRoleConfig("settler", undefined, { VERINFER_SETTLER_MODE: "post" }, {})),
    ).toMatch(/mode/);
  });
});
