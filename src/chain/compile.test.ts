import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compileContracts, generatedModule } from "./compile.ts";

describe("contract artifacts", () => {
  it("the committed ABIs and bytecode are what contracts/src compiles to (run `npm run contracts:generate`)", () => {
    const committed = readFileSync(new URL("./generated/contracts.ts", import.meta.url), "utf8");
    const fresh = generatedModule(compileContracts());
    expect(committed === fresh).toBe(true);
    expect([...fresh.matchAll(/export const (\w+)/g)].map((m) => m[1])).toEqual([
      "disputeGameAbi",
      "disputeGameBytecode",
      "epochsAbi",
      "epochsBytecode",
      "poseidonT17Abi",
      "poseidonT17Bytecode",
      "registryAbi",
      "registryBytecode",
      "rollupAbi",
      "rollupBytecode",
      "scoreCommitsAbi",
      "scoreCommitsBytecode",
      "sliceProofVerifierAbi",
      "sliceProofVerifierBytecode",
      "spotChecksAbi",
      "spotChecksBytecode",
      "traceStepVerifierAbi",
      "traceStepVerifierBytecode",
      "verinferTokenAbi",
      "verinferTokenBytecode",
      "zkSliceVerifierAbi",
      "zkSliceVerifierBytecode",
    ]);
  });
});
