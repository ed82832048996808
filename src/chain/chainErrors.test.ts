/**
 * viem's errors from real calls on anvil become coded errors that name what an operator must fix: the
 * account without ETH, the function and the contract's reason, the endpoint that cannot be reached.
 */
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEVNET_OTR_PARAMS } from "../protocol/params/otr.ts";
import { type LocalChain, startAnvil } from "./anvil.ts";
import { chainErrorLine, chainErrorOf } from "./chainErrors.ts";
import { send, TransactionReverted } from "./clients.ts";
import { clientsFor, coreParamsOf, type Deployment, deployCore } from "./deploy.ts";
import { registryAbi } from "./generated/contracts.ts";

let chain: LocalChain;
let d: Deployment;
beforeAll(async () => {
  chain = await startAnvil();
  d = await deployCore(
    clientsFor(chain.rpcUrl, chain.chainId, chain.keys[0] as Hex),
    coreParamsOf(DEVNET_OTR_PARAMS),
  );
}, 60_000);
afterAll(() => chain?.stop());

const thrown = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error("the call went through");
    },
    (e: unknown) => e,
  );

describe("chainErrorOf", () => {
  it("names the account that cannot pay for gas", async () => {
    const key = generatePrivateKey();
    const poor = clientsFor(chain.rpcUrl, chain.chainId, key);
    const error = chainErrorOf(await thrown(send(poor, d.registry, registryAbi, "register", [3])));
    expect(error?.code).toBe("CHAIN_FUNDS_INSUFFICIENT");
    expect(error?.message).toContain(privateKeyToAccount(key).address);
    expect(error?.message).toContain("register");
  });

  it("gives the contract's reason for a refusal, as the protocol's code where it has one", async () => {
    const fisherman = clientsFor(chain.rpcUrl, chain.chainId, chain.keys[3] as Hex);
    await send(fisherman, d.registry, registryAbi, "register", [3]);
    const again = chainErrorOf(await thrown(send(fisherman, d.registry, registryAbi, "register", [3])));
    expect(again?.code).toBe("CHAIN_TX_REFUSED");
    expect(again?.message).toMatch(/refused register: AlreadyRegistered: 0x/i);
    expect(again?.details).toMatchObject({ function: "register", revert: "AlreadyRegistered" });
    // A mined send that reverted (gas estimated against an earlier state) is a refusal too.
    const mined = chainErrorOf(new TransactionReverted("postBatch", `0x${"ab".repeat(32)}`));
    expect(mined?.code).toBe("CHAIN_TX_REFUSED");
    expect(mined?.message).toContain("postBatch");
  });

  it("says which endpoint cannot be reached", async () => {
    const away = clientsFor("http://127.0.0.1:9", chain.chainId, chain.keys[0] as Hex);
    const error = chainErrorOf(await thrown(away.public.getBlockNumber()));
    expect(error?.code).toBe("UPSTREAM_CONNECTION_FAILED");
    expect(error?.message).toContain("http://127.0.0.1:9");
  });

  it("logs a provider's refusal in one line with the method called and the provider's words", async () => {
    const error = await thrown(
      clientsFor(chain.rpcUrl, chain.chainId, chain.keys[0] as Hex).public.request({
        method: "eth_getBlockByNumber",
        params: ["0xnot-a-number", false],
      } as never),
    );
    expect(chainErrorOf(error)).toBeNull();
    const line = chainErrorLine(error);
    expect(line).toMatch(/^[^\n]*\(eth_getBlockByNumber: [^\n]+\)$/);
  });

  it("leaves every other error alone, and a log line is always one line", () => {
    expect(chainErrorOf(new Error("disk full"))).toBeNull();
    expect(chainErrorLine(new Error("first\nsecond"))).toBe("first");
  });
});
