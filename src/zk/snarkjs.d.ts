// The part of snarkjs 0.7 (untyped JavaScript) that src/zk uses.
declare module "snarkjs" {
  export interface Groth16Proof {
    pi_a: string[];
    pi_b: string[][];
    pi_c: string[];
    protocol: string;
    curve: string;
  }
  export const groth16: {
    fullProve(
      input: Record<string, unknown>,
      wasm: string,
      zkey: string,
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    prove(zkey: string, wtns: string): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    verify(vkey: unknown, publicSignals: readonly string[], proof: Groth16Proof): Promise<boolean>;
  };
  export const wtns: {
    calculate(input: Record<string, unknown>, wasm: string, out: string): Promise<void>;
    check(r1cs: string, wtns: string, logger?: unknown): Promise<boolean>;
    exportJson(wtns: string): Promise<bigint[]>;
  };
  export const r1cs: {
    info(
      file: string,
    ): Promise<{ nConstraints: number; nPubInputs: number; nOutputs: number; nVars: number }>;
  };
  export const zKey: {
    newZKey(r1cs: string, ptau: string, out: string, logger?: unknown): Promise<unknown>;
    contribute(zin: string, zout: string, name: string, entropy: string, logger?: unknown): Promise<unknown>;
    beacon(
      zin: string,
      zout: string,
      name: string,
      beaconHash: string,
      iterationsExp: number,
      logger?: unknown,
    ): Promise<unknown>;
    exportVerificationKey(zkey: string): Promise<unknown>;
    exportSolidityVerifier(zkey: string, templates: { groth16: string }): Promise<string>;
    verifyFromR1cs(r1cs: string, ptau: string, zkey: string, logger?: unknown): Promise<boolean>;
  };
  export const curves: { getCurveFromName(name: string): Promise<{ terminate(): Promise<void> }> };
}
