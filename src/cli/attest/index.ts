import type { GroupSpec } from "../framework/command.ts";
import { devEvidenceCommand } from "./devEvidence.ts";
import { verifyCommand } from "./verify.ts";

/** `verinfer attest ...`. */
export const attestGroup: GroupSpec = {
  name: "attest",
  summary: "hardware attestation: verify NVIDIA GPU evidence offline, produce dev-TEE evidence",
  commands: [verifyCommand, devEvidenceCommand],
};
