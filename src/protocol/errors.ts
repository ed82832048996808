/**
 * Error codes and the verdict type shared by the whole project (DESIGN.md "Errors").
 *
 * Expected-invalid input is a verdict, not an exception. Every code is declared once here so that
 * codes stay unique across the project; the HTTP edge and the CLI map them in one place.
 */

/** What the caller should do with a failed verdict. */
export type Disposition = "reject" | "ignore";

/** Every error code of the project, with a one-line meaning and the default disposition. */
export const ERROR_CODES = {
  // generic input problems
  INPUT_INVALID: { disposition: "reject", meaning: "a value does not have the required type or range" },
  INPUT_TOO_LARGE: { disposition: "reject", meaning: "an input exceeds a documented size limit" },
  PARAMS_INVALID: { disposition: "reject", meaning: "protocol parameters fail validation" },
  // encoding
  HEX_INVALID: { disposition: "reject", meaning: "a hex string is malformed" },
  EIP712_TYPE_INVALID: { disposition: "reject", meaning: "an EIP-712 type definition is malformed" },
  EIP712_VALUE_INVALID: { disposition: "reject", meaning: "a value does not fit its EIP-712 type" },
  // merkle
  MERKLE_EMPTY: { disposition: "reject", meaning: "a Merkle tree needs at least one leaf" },
  MERKLE_LEAF_INVALID: { disposition: "reject", meaning: "a Merkle leaf is not a 32-byte hash" },
  MERKLE_INDEX_OUT_OF_RANGE: { disposition: "reject", meaning: "a leaf index is outside the tree" },
  // statistics and metrics
  STATS_LENGTH_MISMATCH: { disposition: "reject", meaning: "paired samples have different lengths" },
  STATS_TOO_FEW_POINTS: { disposition: "reject", meaning: "a statistic needs more data points" },
  STATS_NOT_FINITE: { disposition: "reject", meaning: "a sample contains NaN or an infinite value" },
  // proof of quality: commit-reveal
  SCORE_OUT_OF_RANGE: {
    disposition: "reject",
    meaning: "a committed score is not an integer in 0..10000 (score x 1000)",
  },
  COMMIT_MISMATCH: {
    disposition: "reject",
    meaning: "a revealed score and salt do not match the commitment",
  },
  REVEAL_MISSING: { disposition: "reject", meaning: "an evaluator committed but did not reveal" },
  // hardware attestation (NVIDIA GPU evidence, dev TEE)
  ATTESTATION_REPORT_TRUNCATED: { disposition: "reject", meaning: "an attestation report ends early" },
  ATTESTATION_REPORT_OVERSIZED: {
    disposition: "reject",
    meaning: "an attestation report is larger than the size limit or has trailing bytes",
  },
  ATTESTATION_REPORT_MALFORMED: {
    disposition: "reject",
    meaning: "an attestation report does not follow the SPDM 1.1 GET_MEASUREMENTS layout",
  },
  ATTESTATION_NONCE_MISMATCH: {
    disposition: "reject",
    meaning: "the report's nonce is not the expected one",
  },
  ATTESTATION_SIGNATURE_INVALID: {
    disposition: "reject",
    meaning: "the report signature does not verify with the leaf certificate's key",
  },
  ATTESTATION_CERT_MALFORMED: { disposition: "reject", meaning: "a certificate or PEM bundle is malformed" },
  ATTESTATION_CERT_EXPIRED: {
    disposition: "reject",
    meaning: "a certificate has expired at the verification time",
  },
  ATTESTATION_CERT_NOT_YET_VALID: {
    disposition: "reject",
    meaning: "a certificate is not yet valid at the verification time",
  },
  ATTESTATION_CERT_REVOKED: { disposition: "reject", meaning: "OCSP says a certificate is revoked" },
  ATTESTATION_CHAIN_UNTRUSTED_ROOT: {
    disposition: "reject",
    meaning: "a certificate chain ends in a root other than the pinned one",
  },
  ATTESTATION_CHAIN_BROKEN: {
    disposition: "reject",
    meaning: "a certificate is not signed by the next one (wrong order, wrong issuer or bad signature)",
  },
  ATTESTATION_CHAIN_TOO_LONG: {
    disposition: "reject",
    meaning: "a certificate chain is longer than allowed",
  },
  ATTESTATION_FWID_MISMATCH: {
    disposition: "reject",
    meaning: "the FWID in the leaf certificate differs from the report's",
  },
  ATTESTATION_RIM_MALFORMED: {
    disposition: "reject",
    meaning: "a reference integrity manifest is malformed",
  },
  ATTESTATION_RIM_SIGNATURE_INVALID: {
    disposition: "reject",
    meaning: "a RIM's XML signature or its digest does not verify",
  },
  ATTESTATION_RIM_MISMATCH: {
    disposition: "reject",
    meaning: "a RIM is for another driver/VBIOS version than the report",
  },
  ATTESTATION_MEASUREMENT_MISMATCH: {
    disposition: "reject",
    meaning: "runtime measurements differ from the RIMs' golden values",
  },
  ATTESTATION_MEASUREMENT_CONFLICT: {
    disposition: "reject",
    meaning: "the driver and VBIOS RIMs both claim a measurement index",
  },
  ATTESTATION_OCSP_MALFORMED: { disposition: "reject", meaning: "an OCSP response is malformed" },
  ATTESTATION_OCSP_INVALID: {
    disposition: "reject",
    meaning: "an OCSP response is not validly signed for the certificate it covers",
  },
  ATTESTATION_OCSP_STALE: {
    disposition: "reject",
    meaning: "an OCSP response is outside its freshness window",
  },
  ATTESTATION_COLLATERAL_MISSING: {
    disposition: "reject",
    meaning: "collateral the policy requires (RIM, OCSP response) is not available",
  },
  ATTESTATION_POLICY_VIOLATION: {
    disposition: "reject",
    meaning: "the evidence is valid but the policy does not accept it (version, age)",
  },
  ATTESTATION_DEBUG_MODE: {
    disposition: "reject",
    meaning: "the evidence shows a debug or developer-tools state",
  },
  ATTESTATION_DEV_TEE_REJECTED: {
    disposition: "reject",
    meaning: "dev-TEE evidence was presented to a policy that does not allow it",
  },
  ATTESTATION_CPU_QUOTE_UNSUPPORTED: {
    disposition: "reject",
    meaning: "the evidence bundle carries a CPU TEE quote, which verinfer does not verify yet",
  },
  ATTESTATION_KEY_BINDING_MISMATCH: {
    disposition: "reject",
    meaning: "the evidence nonce does not bind the enclave key and the verifier challenge",
  },
  // receipts (PoEA)
  RECEIPT_MALFORMED: { disposition: "reject", meaning: "a receipt does not have the receipt format" },
  RECEIPT_SIGNATURE_INVALID: {
    disposition: "reject",
    meaning: "a receipt signature is malformed or does not verify for the named worker",
  },
  RECEIPT_DOMAIN_MISMATCH: {
    disposition: "reject",
    meaning: "a receipt is for another chain or settlement contract",
  },
  RECEIPT_WORKER_UNKNOWN: { disposition: "reject", meaning: "the receipt's worker is not registered" },
  RECEIPT_WORKER_NOT_ATTESTED: {
    disposition: "reject",
    meaning: "the worker's enclave key is not bound to accepted attestation evidence",
  },
  RECEIPT_WORKER_UNSTAKED: { disposition: "reject", meaning: "the worker's stake is below the minimum" },
  RECEIPT_MODEL_MISMATCH: {
    disposition: "reject",
    meaning: "the receipt's model id or weights hash differs from the worker's registered model",
  },
  RECEIPT_ENGINE_NOT_ALLOWED: {
    disposition: "reject",
    meaning: "the receipt's engine measurement is not allowed for the model",
  },
  RECEIPT_NOT_DISPUTABLE: {
    disposition: "reject",
    meaning:
      "the receipt spans more positions than its model's dispute game accepts: no one could ever dispute it",
  },
  RECEIPT_ATTESTATION_MISMATCH: {
    disposition: "reject",
    meaning: "the receipt names other attestation evidence than the worker registered",
  },
  RECEIPT_REPLAYED: {
    disposition: "ignore",
    meaning: "the receipt's (worker, sequence) or its request id was already accepted",
  },
  RECEIPT_STALE: {
    disposition: "reject",
    meaning:
      "the receipt was signed too long ago: past half its maximum age it is not admitted, past the whole it cannot be disputed, checked or paid",
  },
  RECEIPT_SEQUENCE_STALE: {
    disposition: "ignore",
    meaning: "the receipt's sequence is below its worker's replay window",
  },
  // the rollup
  BATCH_DATA_MALFORMED: { disposition: "reject", meaning: "a batch's published data does not decode" },
  BATCH_UNKNOWN: { disposition: "reject", meaning: "no batch has this index" },
  BATCH_ROOT_MISMATCH: { disposition: "reject", meaning: "a batch's data does not hash to its posted root" },
  RECEIPT_NOT_IN_BATCH: {
    disposition: "reject",
    meaning: "a Merkle proof does not show the receipt at that position of the batch",
  },
  CHALLENGE_WINDOW_CLOSED: { disposition: "ignore", meaning: "the receipt's challenge window has closed" },
  SEQUENCER_PROMISE_KEPT: {
    disposition: "reject",
    meaning: "the batch holds the promised receipt at the promised position: no breach to prove",
  },
  // stakes and epochs
  STAKE_INVALID: {
    disposition: "reject",
    meaning: "a stake deposit, unbonding or withdrawal is out of range",
  },
  // the dispute game
  DISPUTE_MOVE_INVALID: {
    disposition: "reject",
    meaning: "a dispute move does not fit the game (wrong claim, child, shape or hashes)",
  },
  DISPUTE_DUPLICATE: { disposition: "ignore", meaning: "the same dispute move was already made" },
  DISPUTE_TOO_LATE: { disposition: "ignore", meaning: "the claim's answer deadline has passed" },
  TRACE_MISMATCH_ABSENT: {
    disposition: "reject",
    meaning: "the trace commits to exactly what the receipt claims: no fraud to prove",
  },
  DISPUTE_STEP_NOT_COUNTERED: {
    disposition: "reject",
    meaning: "a one-step check recomputed another leaf than the attacked claim: the attack stands",
  },
  // inference engines and models
  MODEL_DOWNLOAD_FAILED: {
    disposition: "reject",
    meaning: "a model or its tokenizer could not be downloaded from the URL given",
  },
  MODEL_MALFORMED: { disposition: "reject", meaning: "a model or tokenizer file does not match its format" },
  MODEL_UNSUPPORTED: {
    disposition: "reject",
    meaning: "a model file is valid but uses a variant this engine does not run",
  },
  GENERATION_INVALID: {
    disposition: "reject",
    meaning: "generation parameters or the prompt are out of range for the model",
  },
  GENERATION_CANCELLED: {
    disposition: "ignore",
    meaning: "a generation was stopped because its caller went away",
  },
  ENGINE_FAILED: {
    disposition: "reject",
    meaning: "an inference engine's worker thread failed; the engine replaced it",
  },
  TRACE_MISMATCH: {
    disposition: "reject",
    meaning: "a replayed step's output differs from its claimed leaf: the claim is wrong",
  },
  TRACE_MODEL_MISMATCH: {
    disposition: "reject",
    meaning: "a trace was recorded on another model than the one it is checked against",
  },
  TRACE_MALFORMED: { disposition: "reject", meaning: "an execution trace file or summary is malformed" },
  // the nodes' stores
  STORE_UNAVAILABLE: {
    disposition: "reject",
    meaning: "a node's store cannot be opened or written now (a full disk, an I/O error)",
  },
  STORE_CORRUPT: { disposition: "reject", meaning: "the receipt store holds data this gateway cannot read" },
  BATCH_EXISTS: { disposition: "reject", meaning: "a batch with this index is already recorded" },
  BATCH_STATUS_INVALID: { disposition: "reject", meaning: "a batch cannot move to that status from its own" },
  RECEIPT_NOT_PROVISIONAL: {
    disposition: "reject",
    meaning: "only a stored, unsealed receipt can be sealed",
  },
  RECEIPT_NOT_VOIDABLE: {
    disposition: "reject",
    meaning: "only a receipt in a sealed or posted batch can be voided",
  },
  // transactions to the settlement chain
  CHAIN_FUNDS_INSUFFICIENT: {
    disposition: "reject",
    meaning: "an account holds too little of the chain's currency to pay for a transaction",
  },
  CHAIN_TX_REFUSED: {
    disposition: "reject",
    meaning: "the contracts refused a transaction (a revert with no verdict code of its own)",
  },
  // node services (gateway, worker) and their keys
  KEY_FILE_INVALID: {
    disposition: "reject",
    meaning: "a key file does not hold one 32-byte hex private key",
  },
  KEY_FILE_INSECURE: {
    disposition: "reject",
    meaning: "a key file is readable by other users (it must have mode 0600)",
  },
  NODE_AUTH_INVALID: {
    disposition: "reject",
    meaning: "a message between roles is unsigned, stale, or signed by a key this node does not accept",
  },
  WORKER_UNAVAILABLE: { disposition: "reject", meaning: "no registered worker can serve the request now" },
  WORKER_FAILED: { disposition: "reject", meaning: "the worker failed or hung up during the generation" },
  WORKER_RECEIPT_INVALID: {
    disposition: "reject",
    meaning: "the worker's receipt failed the gateway's checks; nothing was recorded",
  },
  WORKER_REQUEST_REPLAYED: {
    disposition: "ignore",
    meaning: "a worker was asked to serve a request id again with another request",
  },
  EPOCH_NOT_SETTLED: { disposition: "ignore", meaning: "the settler has not settled this epoch (yet)" },
  RECEIPT_NOT_FOUND: { disposition: "ignore", meaning: "the gateway holds no receipt with this id" },
  API_RATE_LIMITED: { disposition: "ignore", meaning: "the client exceeded its request rate; retry later" },
  // ZK spot-checks
  ZK_SETUP_MISMATCH: {
    disposition: "reject",
    meaning: "the committed trusted setup was not made for the circuit as compiled now",
  },
  ZK_PROOF_INVALID: { disposition: "reject", meaning: "a spot-check proof does not verify" },
  ZK_PROOF_MALFORMED: { disposition: "reject", meaning: "a spot-check proof file is malformed" },
  ZK_SLICE_UNSUPPORTED: {
    disposition: "reject",
    meaning: "the model's receipts cannot be spot-checked by the circuit",
  },
  // evaluators
  SCORES_MALFORMED: {
    disposition: "reject",
    meaning: "an evaluator's revealed scores are not whole 10-byte scores of 0-10, each receipt once",
  },
  EVALUATOR_UNKNOWN: { disposition: "reject", meaning: "no evaluator has this name" },
  EVALUATOR_INPUT_INVALID: { disposition: "reject", meaning: "an evaluation input is malformed" },
  EVALUATOR_REFERENCE_REQUIRED: { disposition: "reject", meaning: "the evaluator needs a reference" },
  EVALUATOR_MODEL_INVALID: {
    disposition: "reject",
    meaning: "an evaluator model file or folder is unusable",
  },
  EVALUATOR_BACKEND_FAILED: { disposition: "reject", meaning: "the evaluator's backend failed" },
  TOKENIZER_INVALID: { disposition: "reject", meaning: "a tokenizer.json is malformed or unsupported" },
  JUDGE_REPLY_INVALID: { disposition: "reject", meaning: "the LLM-judge reply has no usable 0-10 score" },
  JUDGE_REQUEST_NOT_JUDGED: {
    disposition: "reject",
    meaning: "the answer is to an LLM judge's own request, which is never judged (no feedback loop)",
  },
  // upstream HTTP services (OpenAI-compatible endpoints)
  UPSTREAM_CONNECTION_FAILED: { disposition: "reject", meaning: "an upstream endpoint cannot be reached" },
  UPSTREAM_HTTP_ERROR: { disposition: "reject", meaning: "an upstream endpoint answered with an HTTP error" },
  UPSTREAM_TIMEOUT: { disposition: "reject", meaning: "an upstream endpoint did not answer in time" },
  UPSTREAM_REPLY_INVALID: {
    disposition: "reject",
    meaning: "an upstream reply does not follow its protocol",
  },
  UPSTREAM_STREAM_ERROR: {
    disposition: "reject",
    meaning: "an upstream endpoint reported an error mid-stream",
  },
  // verinfer's own HTTP APIs
  API_REQUEST_INVALID: { disposition: "reject", meaning: "an API request body or its fields are malformed" },
  API_UNAUTHORIZED: { disposition: "reject", meaning: "an API request lacks a valid API key" },
  API_ROUTE_UNKNOWN: { disposition: "reject", meaning: "no API route has this method and path" },
  API_BUSY: { disposition: "reject", meaning: "the server's request queue is full; retry later" },
  MODEL_NOT_SERVED: { disposition: "reject", meaning: "the server does not serve the requested model" },
  // datasets and files
  DATA_DIR_NOT_FOUND: { disposition: "reject", meaning: "the data directory does not exist" },
  FILE_NOT_FOUND: { disposition: "reject", meaning: "a required file does not exist" },
  FILE_NOT_UTF8: { disposition: "reject", meaning: "a text file is not valid UTF-8" },
  FILE_TOO_LARGE: { disposition: "reject", meaning: "a file exceeds the size limit for its kind" },
  DATASET_MALFORMED: { disposition: "reject", meaning: "a dataset file does not match its format" },
  // command line and configuration
  CLI_USAGE: { disposition: "reject", meaning: "the command line is malformed" },
  CONFIG_INVALID: { disposition: "reject", meaning: "a configuration value is invalid" },
} as const satisfies Record<string, { disposition: Disposition; meaning: string }>;

/** A project-wide error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The error half of a verdict. */
export interface VerdictError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly disposition: Disposition;
}

/** Result of validating or verifying anything that can be expected-invalid. */
export type Verdict<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: VerdictError };

/** A successful verdict. */
export function ok<T>(value: T): Verdict<T> {
  return { ok: true, value };
}

/** A failed verdict; the disposition defaults to the code's registered one. */
export function fail<T = never>(
  code: ErrorCode,
  message: string,
  meta: Record<string, unknown> = {},
  disposition: Disposition = ERROR_CODES[code].disposition,
): Verdict<T> {
  return { ok: false, error: { code, message, meta, disposition } };
}

/** Thrown by the `assertX` / `unwrap` variants; carries the verdict error. */
export class VerdictFailure extends Error {
  readonly code: ErrorCode;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly disposition: Disposition;
  constructor(error: VerdictError) {
    super(error.message);
    this.name = "VerdictFailure";
    this.code = error.code;
    this.meta = error.meta;
    this.disposition = error.disposition;
  }
}

/** Returns the value of a successful verdict or throws {@link VerdictFailure}. */
export function unwrap<T>(verdict: Verdict<T>): T {
  if (verdict.ok) return verdict.value;
  throw new VerdictFailure(verdict.error);
}
