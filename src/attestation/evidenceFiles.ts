/**
 * Loading attestation inputs from files: reports (hex text), PEM chains, NVIDIA evidence lists,
 * RIMs and OCSP responses, pinned roots, and offline collateral directories. Every problem becomes a
 * VerinferError with the file named; the pure verifier then judges the content.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { readTextFile } from "../data/files.ts";
import { checked, VerinferError } from "../errors.ts";
import { type GpuEvidenceItem, parseEvidenceJson } from "../protocol/attestation/evidenceJson.ts";
import {
  decodeReportText,
  MAX_REPORT_BYTES,
  parseSpdmReport,
  reportIdentity,
} from "../protocol/attestation/spdmReport.ts";
import {
  checkPinned,
  NVIDIA_DEVICE_ROOT_SHA256,
  NVIDIA_RIM_ROOT_SHA256,
} from "../protocol/attestation/trustAnchors.ts";
import type { Collateral, TrustAnchors } from "../protocol/attestation/verifyGpuEvidence.ts";
import { type Certificate, parsePemChain } from "../protocol/attestation/x509.ts";

const MAX_TEXT = 4 * MAX_REPORT_BYTES;
const MAX_RIM_BYTES = 1024 * 1024;
const MAX_OCSP_BYTES = 64 * 1024;
const MAX_COLLATERAL_FILES = 500;

/** A report file (hex text, as NVIDIA's tools write it). */
export function loadReport(path: string): Uint8Array {
  const text = readTextFile(path, MAX_TEXT);
  const v = decodeReportText(text);
  if (!v.ok) throw new VerinferError(v.error.code, `${path}: ${v.error.message}`, { file: path });
  return v.value;
}

/** Evidence from `--report` + `--chain`, or every GPU of an `--evidence` list. */
export function loadEvidence(options: {
  report?: string | undefined;
  chain?: string | undefined;
  evidence?: string | undefined;
}): GpuEvidenceItem[] {
  if (options.evidence) {
    if (options.report || options.chain)
      throw new VerinferError("CLI_USAGE", "use either --evidence or --report with --chain");
    const list = parseEvidenceJson(readTextFile(options.evidence, 64 * MAX_TEXT));
    if (!list.ok)
      throw new VerinferError(list.error.code, `${options.evidence}: ${list.error.message}`, {
        file: options.evidence,
      });
    return list.value;
  }
  if (!options.report || !options.chain)
    throw new VerinferError("CLI_USAGE", "give --report FILE and --chain FILE (or --evidence FILE)");
  return [
    {
      arch: "unknown",
      nonce: null,
      report: loadReport(options.report),
      chainPem: readTextFile(options.chain, 1024 * 1024),
    },
  ];
}

function certificateFile(path: string): Certificate {
  const chain = parsePemChain(readTextFile(path, 64 * 1024));
  if (!chain.ok) throw new VerinferError(chain.error.code, `${path}: ${chain.error.message}`, { file: path });
  return chain.value[0] as Certificate;
}

/** NVIDIA's two roots from a directory holding NVIDIA's files, checked against the pinned fingerprints. */
export function loadTrustAnchors(rootsDir: string, devRootFile?: string): TrustAnchors {
  const pinned = (name: string, fp: string, what: string) => {
    const path = join(rootsDir, name);
    if (!existsSync(path))
      throw new VerinferError("FILE_NOT_FOUND", `${what} not found: ${path} (pass --roots DIR)`, {
        file: path,
      });
    const cert = checkPinned(certificateFile(path), fp, `${path} (${what})`);
    return checked(cert);
  };
  return {
    deviceRoot: pinned("verifier_device_root.pem", NVIDIA_DEVICE_ROOT_SHA256, "NVIDIA Device Identity CA"),
    rimRoot: pinned("verifier_RIM_root.pem", NVIDIA_RIM_ROOT_SHA256, "NVIDIA CoRIM signing Root CA"),
    devRoot: devRootFile ? certificateFile(devRootFile) : null,
  };
}

function readBinary(path: string, maxBytes: number): Uint8Array {
  if (!existsSync(path) || !statSync(path).isFile())
    throw new VerinferError("FILE_NOT_FOUND", `file not found: ${path}`, { file: path });
  const size = statSync(path).size;
  if (size > maxBytes)
    throw new VerinferError("FILE_TOO_LARGE", `${path} is ${size} bytes, over the ${maxBytes}-byte limit`, {
      file: path,
    });
  return new Uint8Array(readFileSync(path));
}

/** RIMs and OCSP responses named on the command line. */
export function loadSuppliedCollateral(rims: readonly string[], ocsp: readonly string[]): Collateral {
  return {
    rims: rims.map((source) => ({ source, xml: readTextFile(source, MAX_RIM_BYTES) })),
    ocsp: ocsp.map((source) => ({ source, der: readBinary(source, MAX_OCSP_BYTES) })),
    mode: "supplied",
  };
}

/**
 * Collateral from an offline cache directory only: the RIMs whose version matches the report
 * (`*.swidtag` / `*.xml`, found by their colloquialVersion) and every OCSP response (`*.der`,
 * `*.ocsp`), searched in DIR and its `rims/` and `ocsp/` subfolders.
 */
export function loadOfflineCollateral(dir: string, report: Uint8Array): Collateral {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new VerinferError("FILE_NOT_FOUND", `offline collateral directory not found: ${dir}`, {
      file: dir,
    });
  }
  const files = [dir, join(dir, "rims"), join(dir, "ocsp")]
    .filter((d) => existsSync(d) && statSync(d).isDirectory())
    .flatMap((d) => readdirSync(d).map((f) => join(d, f)))
    .filter((f) => statSync(f).isFile());
  if (files.length > MAX_COLLATERAL_FILES) {
    throw new VerinferError(
      "INPUT_TOO_LARGE",
      `${dir} holds ${files.length} files; at most ${MAX_COLLATERAL_FILES} are read`,
    );
  }
  const parsed = parseSpdmReport(report);
  const identity = parsed.ok ? reportIdentity(parsed.value) : null;
  const wanted = [identity?.driverVersion, identity?.vbiosVersion]
    .filter((v): v is string => !!v)
    .map((v) => v.toLowerCase());
  const rims: Collateral["rims"][number][] = [];
  for (const f of files.filter((x) => /\.(swidtag|xml)$/i.test(x))) {
    const xml = readTextFile(f, MAX_RIM_BYTES);
    const version = xml.match(/colloquialVersion="([^"]*)"/)?.[1]?.toLowerCase();
    if (version && wanted.includes(version)) rims.push({ source: f, xml });
  }
  // Several VBIOS RIMs can share a version across boards: prefer the one named for this board.
  const board = identity
    ? `${identity.project}_${identity.projectSku}_${identity.chipSku}`.toLowerCase()
    : "";
  const vbios = rims.filter(
    (r) =>
      r.xml.match(/colloquialVersion="([^"]*)"/)?.[1]?.toLowerCase() ===
      identity?.vbiosVersion?.toLowerCase(),
  );
  const chosen =
    vbios.length > 1
      ? (vbios.find((r) => basename(r.source).toLowerCase().startsWith(board)) ?? vbios[0])
      : undefined;
  return {
    rims: chosen ? rims.filter((r) => !vbios.includes(r) || r === chosen) : rims,
    ocsp: files
      .filter((x) => /\.(der|ocsp)$/i.test(x))
      .map((source) => ({ source, der: readBinary(source, MAX_OCSP_BYTES) })),
    mode: "offline-cache",
  };
}
