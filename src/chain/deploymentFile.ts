/** Deployment files: what `chain up` and `chain deploy` write and `chain status` (and the nodes) read. */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { VerinferError } from "../errors.ts";
import type { Deployment } from "./deploy.ts";

const ADDRESS = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "an 0x address");

const DEPLOYMENT_FILE = z
  .object({
    kind: z.literal("verinfer.deployment"),
    rpcUrl: z.string().url(),
    chainId: z.number().int().positive(),
    owner: ADDRESS,
    token: ADDRESS,
    registry: ADDRESS,
    rollup: ADDRESS,
    disputeGame: ADDRESS.optional(),
    stepVerifier: ADDRESS.optional(),
    epochs: ADDRESS.optional(),
    scoreCommits: ADDRESS.optional(),
    spotChecks: ADDRESS.optional(),
    zkVerifier: ADDRESS.optional(),
    deployedAtBlock: z.number().int().nonnegative().optional(),
  })
  .strict();

/** A deployment as a file records it. */
export type DeploymentFile = Deployment & { readonly kind: "verinfer.deployment"; readonly rpcUrl: string };

/** The default deployment file of `chain up`. */
export const DEFAULT_DEPLOYMENT_FILE = ".verinfer/deployment.json";

/** Reads and validates a deployment file (FILE_NOT_FOUND, CONFIG_INVALID with the field). */
export function readDeployment(path: string): DeploymentFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new VerinferError(
      "FILE_NOT_FOUND",
      `no deployment file at ${path} (run 'verinfer chain up' or 'chain deploy')`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new VerinferError("CONFIG_INVALID", `${path} is not JSON: ${(e as Error).message}`);
  }
  const parsed = DEPLOYMENT_FILE.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new VerinferError(
      "CONFIG_INVALID",
      `${path}: ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`,
    );
  }
  return parsed.data as DeploymentFile;
}
