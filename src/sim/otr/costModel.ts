/**
 * The marginal cost of a query under OTR, as a formula whose every input can be swept (experiment 2 of
 * docs/reproductions/otr.md). The paper reports $0.07 per query, opML $0.06 and ZKML $45+, without the
 * decomposition; this is ours:
 *
 *   on-chain gas per query = batch posting / batch size
 *                          + data availability (receipt bytes × 16 gas in calldata, or blob gas)
 *                          + ρ × proof verification (on chain) or ρ × proof posting (optimistic)
 *                          + dispute rate × gas of a dispute
 *   $ per query = gas × gas price × ETH price
 *               + GPU time × $/GPU-hour × (TEE overhead + ρ × proving time / service time + fisherman coverage)
 *
 * Every figure is an input with a default and a source; the breakdown says where each cent goes.
 */

/** Inputs of the cost formula. */
export interface CostInputs {
  /** Gas of posting one batch root (transaction base + storage + event). */
  readonly batchPostGas: number;
  readonly batchSize: number;
  /** Bytes of one receipt in the batch data (rollup/batchData.ts: 257, plus its share of the worker table). */
  readonly receiptBytes: number;
  readonly dataAvailability: "calldata" | "blob";
  /** Calldata gas per byte (16 for non-zero bytes, EIP-2028) and blob gas per byte (1) at a blob gas price. */
  readonly calldataGasPerByte: number;
  readonly blobGasPriceWei: number;
  /** Fraction of queries spot-checked (ρ). */
  readonly rho: number;
  /** Gas of verifying one proof on chain (SpotChecks.prove through ZkSliceVerifier: 357k–384k, docs/zk.md). */
  readonly proofVerifyGas: number;
  /** Verify every proof on chain, or post proofs optimistically (only a hash on chain, verified if challenged). */
  readonly proofOnChain: boolean;
  readonly proofPostGas: number;
  /** Fraction of queries disputed, and the gas of one dispute (every move of both sides). */
  readonly disputeRate: number;
  readonly disputeGas: number;
  readonly gasPriceGwei: number;
  readonly ethUsd: number;
  /** Inference time of one query on the worker's GPU, and its price. */
  readonly serviceSeconds: number;
  readonly gpuHourUsd: number;
  /** TEE overhead on the service time (the paper: 15–20%; measured elsewhere: 4–8%). */
  readonly teeOverhead: number;
  /** Proving one spot-check slice, seconds of the worker's machine (priced at its GPU-hour rate). */
  readonly proveSeconds: number;
  /** Fraction of queries a fisherman re-executes (its GPU time is paid by the fisherman pool). */
  readonly fishermanCoverage: number;
}

/** Our defaults: an L1-priced settlement at 10 gwei and $3,000/ETH, a 1 s query on a $2.50/h GPU. */
export const DEFAULT_COST_INPUTS: CostInputs = {
  batchPostGas: 80_000, // Rollup.postBatch in steady state: 78,280 as a transaction (docs/contracts.md); data priced apart
  batchSize: 1_000,
  receiptBytes: 257,
  dataAvailability: "calldata",
  // Batch data pays EIP-7623's calldata floor (10 gas per zero byte, 40 per other; Prague), not EIP-2028's
  // 4/16: measured 37.6 gas per byte of batch data on anvil (docs/contracts.md, Gas).
  calldataGasPerByte: 38,
  blobGasPriceWei: 1,
  rho: 0.01,
  proofVerifyGas: 370_000, // measured per proven obligation (docs/zk.md); a bare Groth16 check is 219k
  proofOnChain: true,
  proofPostGas: 30_000,
  disputeRate: 0,
  disputeGas: 32_000_000, // challenge + 6 rounds of 16-ary moves + a one-step of up to 30M + resolution
  gasPriceGwei: 10,
  ethUsd: 3_000,
  serviceSeconds: 1,
  gpuHourUsd: 2.5,
  teeOverhead: 0.175,
  proveSeconds: 1.7, // measured on 2 CPU cores (docs/zk.md)
  fishermanCoverage: 0.01,
};

/** Where a query's cost goes, in US dollars. */
export interface CostBreakdown {
  readonly batchPosting: number;
  readonly dataAvailability: number;
  readonly proofs: number;
  readonly disputes: number;
  readonly teeOverhead: number;
  readonly proving: number;
  readonly fishermen: number;
  /** Everything above: the marginal cost of verifiability. */
  readonly total: number;
  /** Gas per query on chain. */
  readonly gasPerQuery: number;
  /** The inference itself (not an OTR cost; for scale). */
  readonly inference: number;
}

/** The marginal cost per query. */
export function costPerQuery(i: CostInputs): CostBreakdown {
  const usdPerGas = i.gasPriceGwei * 1e-9 * i.ethUsd;
  const posting = i.batchPostGas / i.batchSize;
  const da =
    i.dataAvailability === "calldata"
      ? i.receiptBytes * i.calldataGasPerByte
      : // Blob gas is paid at the blob gas price, not the execution gas price.
        (i.receiptBytes * i.blobGasPriceWei) / (i.gasPriceGwei * 1e9);
  const proofGas = i.rho * (i.proofOnChain ? i.proofVerifyGas : i.proofPostGas);
  const disputeGas = i.disputeRate * i.disputeGas;
  const gpuUsdPerSecond = i.gpuHourUsd / 3600;
  const parts = {
    batchPosting: posting * usdPerGas,
    dataAvailability: da * usdPerGas,
    proofs: proofGas * usdPerGas,
    disputes: disputeGas * usdPerGas,
    teeOverhead: i.teeOverhead * i.serviceSeconds * gpuUsdPerSecond,
    proving: i.rho * i.proveSeconds * gpuUsdPerSecond,
    fishermen: i.fishermanCoverage * i.serviceSeconds * gpuUsdPerSecond,
  };
  return {
    ...parts,
    total: Object.values(parts).reduce((a, b) => a + b, 0),
    gasPerQuery: posting + da + proofGas + disputeGas,
    inference: i.serviceSeconds * gpuUsdPerSecond,
  };
}
