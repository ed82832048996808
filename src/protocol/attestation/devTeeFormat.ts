/**
 * Constants of dev-TEE evidence that the verifier reads. Dev evidence has the NVIDIA layout (SPDM
 * report, P-384 chain with a FWID extension, SWID RIMs, OCSP) plus one vendor opaque field that
 * states the TEE mode, so that debug and developer-tools states are visible and can be rejected.
 */

/** Opaque field type carrying the dev-TEE mode (outside NVIDIA's assigned range). */
export const DEV_TEE_MODE_FIELD = 0xf0;

/** Mode byte values. */
export const DEV_TEE_MODES: Readonly<Record<number, "production" | "debug" | "devtools">> = {
  0: "production",
  1: "debug",
  2: "devtools",
};
