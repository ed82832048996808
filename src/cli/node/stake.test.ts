/**
 * `verinfer node stake` on anvil, as an operator runs it: an evaluator joins at the role's minimum from
 * a devnet faucet, unbonds, cannot withdraw before the registry's delay and can after it; each mistake
 * (no role, no tokens, another role, someone else's participant, a malformed address) is refused with a
 * coded error before any transaction.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalChain, startAnvil } from "../../chain/anvil.ts";
import { advanceTime } from "../../chain/clients.ts";
import { clientsFor } from "../../chain/deploy.ts";
import { writeKeyFile } from "../../node/keys.ts";
import { DEFAULT_OTR_PARAMS } from "../../protocol/params/otr.ts";
import { cli } from "../../testing/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "verinfer-stake-"));
const deployment = join(dir, "deployment.json");
const keyFile = (name: string, key: Hex) => {
  const path = join(dir, `${name}.key`);
  writeKeyFile(path, key);
  return path;
};
let chain: LocalChain;
let owner: string;
let evaluator: string;
let other: string;

beforeAll(async () => {
  chain = await startAnvil();
  owner = keyFile("owner", chain.keys[0] as Hex);
  evaluator = keyFile("evaluator", chain.keys[2] as Hex);
  other = keyFile("other", chain.keys[3] as Hex);
  const deployed = await cli(
    "chain",
    "deploy",
    "--rpc",
    chain.rpcUrl,
    "--key-file",
    owner,
    "--out",
    deployment,
  );
  expect(deployed.code, deployed.stderr).toBe(0);
}, 60_000);
afterAll(() => chain?.stop());

const stake = async (...args: string[]) => {
  const r = await cli("node", "stake", ...args, "--deployment", deployment);
  return { ...r, json: r.code === 0 && args.includes("--json") ? JSON.parse(r.stdout) : null };
};

describe("verinfer node stake", () => {
  it("joins, unbonds and withdraws after the unbonding delay", async () => {
    const address = privateKeyToAccount(chain.keys[2] as Hex).address;
    const minimum = DEFAULT_OTR_PARAMS.poea.minEvaluatorStake;
    expect((await stake("show", "--key-file", evaluator, "--json")).json).toMatchObject({
      address,
      role: "none",
      active: "0",
    });
    const joined = await stake(
      "deposit",
      "--key-file",
      evaluator,
      "--role",
      "evaluator",
      "--owner-key-file",
      owner,
      "--json",
    );
    expect(joined.code, joined.stderr).toBe(0);
    expect(joined.json).toMatchObject({
      role: "evaluator",
      operator: address,
      active: String(minimum),
      minimum: String(minimum),
      done: `registered ${address} as evaluator; deposited 1.0 VRF`,
    });
    const unbonded = await stake("unbond", "--key-file", evaluator, "--json");
    expect(unbonded.code, unbonded.stderr).toBe(0);
    expect(unbonded.json).toMatchObject({ active: "0", unbonding: String(minimum) });
    const early = await stake("withdraw", "--key-file", evaluator);
    expect(early.code).toBe(1);
    expect(early.stdout).toContain("nothing was withdrawable yet");
    await advanceTime(
      clientsFor(chain.rpcUrl, chain.chainId, chain.keys[0] as Hex),
      DEFAULT_OTR_PARAMS.poea.unbondingMs / 1000 + 1,
    );
    const withdrawn = await stake("withdraw", "--key-file", evaluator, "--json");
    expect(withdrawn.code, withdrawn.stderr).toBe(0);
    expect(withdrawn.json).toMatchObject({ unbonding: "0", done: `withdrew 1.0 VRF to ${address}` });
  });

  it("refuses what would fail or misfire on chain, with a coded error", async () => {
    const evaluatorAddress = privateKeyToAccount(chain.keys[2] as Hex).address;
    for (const [args, code, message] of [
      [["deposit", "--key-file", other], 2, /CONFIG_INVALID.*not registered: pass --role/],
      [
        ["deposit", "--key-file", other, "--role", "fisherman", "--amount", "5"],
        1,
        /CHAIN_FUNDS_INSUFFICIENT.*holds 0\.0 VRF/,
      ],
      [
        ["deposit", "--key-file", evaluator, "--role", "fisherman", "--amount", "5"],
        2,
        /registered as a evaluator, not a fisherman/,
      ],
      [
        ["deposit", "--key-file", other, "--participant", evaluatorAddress, "--amount", "5"],
        2,
        /operated by 0x/,
      ],
      [["deposit", "--key-file", other, "--amount", "-5"], 2, /CLI_USAGE.*--amount/],
      [["show", "--participant", "0x1234"], 2, /CLI_USAGE.*0x address/],
      [["show"], 2, /CLI_USAGE.*--participant or --key-file/],
      [["unbond", "--key-file", other], 2, /no active stake to unbond/],
      [["withdraw", "--key-file", other], 2, /nothing unbonding/],
    ] as const) {
      const r = await stake(...args);
      expect(r.code, args.join(" ")).toBe(code);
      expect(r.stderr, args.join(" ")).toMatch(message);
    }
  });
});
