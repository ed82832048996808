import { VerinferError } from "../../errors.ts";
import { renderTable } from "../../report/table.ts";
import { type CostInputs, costPerQuery, DEFAULT_COST_INPUTS } from "../../sim/otr/costModel.ts";
import type { CommandContext, CommandSpec, OptionSpec } from "../framework/command.ts";

/** The numeric inputs of the cost formula, with their option names and descriptions. */
const NUMERIC: readonly [keyof CostInputs, string, string][] = [
  ["batchPostGas", "batch-post-gas", "gas of posting one batch root"],
  ["batchSize", "batch-size", "receipts per batch"],
  ["receiptBytes", "receipt-bytes", "bytes of one receipt in the batch data"],
  [
    "calldataGasPerByte",
    "calldata-gas-per-byte",
    "calldata gas per byte of batch data (EIP-7623 floor, measured: 38; EIP-2028 alone: 16)",
  ],
  ["blobGasPriceWei", "blob-gas-price-wei", "blob gas price (wei per blob byte)"],
  ["rho", "rho", "fraction of queries spot-checked"],
  ["proofVerifyGas", "proof-verify-gas", "gas of verifying one proof on chain (Groth16 ≈ 229k)"],
  ["proofPostGas", "proof-post-gas", "gas of posting a proof optimistically"],
  ["disputeRate", "dispute-rate", "fraction of queries disputed"],
  ["disputeGas", "dispute-gas", "gas of one dispute (every move of both sides)"],
  ["gasPriceGwei", "gas-price", "gas price in gwei"],
  ["ethUsd", "eth-usd", "US$ per ETH"],
  ["serviceSeconds", "service-seconds", "GPU seconds of one query"],
  ["gpuHourUsd", "gpu-hour-usd", "US$ per GPU-hour"],
  ["teeOverhead", "tee-overhead", "TEE overhead on service time"],
  ["proveSeconds", "prove-seconds", "GPU seconds to prove one spot-check"],
  ["fishermanCoverage", "coverage", "fraction of queries fishermen re-execute"],
];

const OPTIONS: Record<string, OptionSpec> = Object.fromEntries(
  NUMERIC.map(([key, option, description]) => [
    option,
    { type: "number", value: "X", min: 0, default: DEFAULT_COST_INPUTS[key] as number, description },
  ]),
);

function inputsFromOptions(ctx: CommandContext): CostInputs {
  const inputs: Record<string, unknown> = { ...DEFAULT_COST_INPUTS };
  for (const [key, option] of NUMERIC) inputs[key] = ctx.number(option);
  inputs.dataAvailability = ctx.string("da");
  inputs.proofOnChain = ctx.string("proofs") === "on-chain";
  return inputs as unknown as CostInputs;
}

/** `--vary NAME=v1,v2,…`: the input to vary and its values. */
function variedInput(text: string): { key: keyof CostInputs; option: string; values: number[] } {
  const [option, list] = text.split("=", 2);
  const entry = NUMERIC.find(([, o]) => o === option);
  const values = (list ?? "").split(",").map((v) => Number(v.trim()));
  if (!entry || values.length === 0 || values.some((v) => !(Number.isFinite(v) && v >= 0)))
    throw new VerinferError(
      "CLI_USAGE",
      `--vary takes INPUT=v1,v2,… with an input among ${NUMERIC.map(([, o]) => o).join(", ")} and non-negative numbers, got "${text}"`,
    );
  return { key: entry[0], option: entry[1], values };
}

const COLUMNS = [
  "gas/query",
  "batch posting",
  "data availability",
  "proofs",
  "disputes",
  "TEE",
  "proving",
  "fishermen",
  "total $",
];

/** `verinfer otr cost`: the marginal cost per query as a formula of its inputs. */
export const costCommand: CommandSpec = {
  name: "cost",
  summary: "the marginal cost of a verified query, by component, for any inputs (or over one input)",
  description: [
    "gas per query = batch posting / batch size + receipt bytes × calldata gas (or blob gas) + rho × proof gas",
    "              + dispute rate × dispute gas;",
    "US$ per query = gas × gas price × ETH price + GPU $/s × service time × (TEE overhead + coverage) + rho × proving.",
    "The paper's $0.07: --rho 0.01 --batch-post-gas 0 --receipt-bytes 0 --tee-overhead 0 --prove-seconds 0 --coverage 0.",
  ].join("\n"),
  options: {
    ...OPTIONS,
    da: {
      type: "string",
      value: "KIND",
      choices: ["calldata", "blob"],
      default: "calldata",
      description: "where batch data goes",
    },
    proofs: {
      type: "string",
      value: "HOW",
      choices: ["on-chain", "optimistic"],
      default: "on-chain",
      description: "verify every spot-check proof on chain, or post it optimistically",
    },
    vary: {
      type: "string",
      value: "INPUT=LIST",
      description: "one row per value of one input (e.g. rho=0.001,0.01,0.05)",
    },
  },
  examples: [
    "verinfer otr cost",
    "verinfer otr cost --da blob --vary rho=0.001,0.01,0.05",
    "verinfer otr cost --gas-price 0.01 --json",
  ],
  run(ctx) {
    const inputs = inputsFromOptions(ctx);
    const vary = ctx.string("vary");
    const varied = vary ? variedInput(vary) : null;
    const rows = (varied ? varied.values : [null]).map((value) => {
      const i = varied ? { ...inputs, [varied.key]: value } : inputs;
      return { [varied?.option ?? "inputs"]: value ?? "as given", ...costPerQuery(i) };
    });
    ctx.output({ kind: "verinfer.otr-cost", inputs, vary: varied, rows }, () =>
      renderTable(
        [varied?.option ?? "inputs", ...COLUMNS],
        rows.map((r) => [
          Object.values(r)[0] as string | number,
          Math.round(r.gasPerQuery),
          r.batchPosting,
          r.dataAvailability,
          r.proofs,
          r.disputes,
          r.teeOverhead,
          r.proving,
          r.fishermen,
          r.total,
        ]),
        { digits: 5, title: "Marginal cost per query (US$)" },
      ),
    );
    return 0;
  },
};
