/**
 * Replay protection for receipts that arrive concurrently and out of order (docs/attestation.md,
 * "Replays"). The rule, shared by the sequencer, `receipt verify` and the settlement contract:
 *
 * - each (worker, sequence) is accepted at most once, and each requestId at most once;
 * - per worker, sequences more than `window` below the highest one accepted are stale and refused
 *   (RECEIPT_SEQUENCE_STALE), so the state per worker is bounded: a ring of `window` slots.
 *
 * Any order of receipts whose sequences lie within `window` of each other is accepted in full; a
 * duplicate is refused naming the sequence (or request) it repeats and where that was first seen.
 * A requestId is remembered while its receipt is in its worker's window (a ring slot holds it).
 */
import type { Hex } from "../encoding/hex.ts";
import { fail, ok, type Verdict } from "../errors.ts";

/** Default window: how far out of order one worker's receipts may arrive (our choice; a parameter). */
export const DEFAULT_REPLAY_WINDOW = 4096;

interface WorkerRing<R> {
  high: bigint;
  readonly sequences: BigUint64Array;
  readonly occupied: Uint8Array;
  readonly requestIds: (string | undefined)[];
  readonly refs: (R | undefined)[];
}

/** Where a duplicate was first seen (what the caller passed as `ref`). */
export interface FirstSeen<R> {
  readonly worker: Hex;
  readonly sequence: bigint;
  readonly ref: R | undefined;
}

/** The replay window of every worker. `R` labels accepted receipts (a file position, a database id). */
export class ReplayGuard<R = string> {
  private readonly rings = new Map<string, WorkerRing<R>>();
  private readonly requests = new Map<string, FirstSeen<R>>();
  private readonly size: bigint;

  constructor(readonly window: number = DEFAULT_REPLAY_WINDOW) {
    if (!(Number.isInteger(window) && window >= 1 && window <= 1 << 24))
      throw new RangeError(`the replay window must be an integer in 1..${1 << 24}, got ${window}`);
    this.size = BigInt(window);
  }

  /** Checks a receipt's (worker, sequence, requestId) without recording it. */
  check(worker: Hex, sequence: bigint, requestId: Hex): Verdict<null> {
    const w = worker.toLowerCase();
    const ring = this.rings.get(w);
    if (ring && sequence + this.size <= ring.high)
      return fail(
        "RECEIPT_SEQUENCE_STALE",
        `worker ${w}'s sequence ${sequence} is stale: ${this.window} or more below its highest accepted sequence ${ring.high}`,
        { worker: w, sequence: sequence.toString(), high: ring.high.toString(), window: this.window },
      );
    if (ring) {
      const slot = Number(sequence % this.size);
      if (ring.occupied[slot] && ring.sequences[slot] === sequence)
        return fail(
          "RECEIPT_REPLAYED",
          `worker ${w} already used sequence ${sequence}${where(ring.refs[slot])}`,
          { worker: w, sequence: sequence.toString(), firstSeen: ring.refs[slot] ?? null },
        );
    }
    const seen = this.requests.get(requestId.toLowerCase());
    if (seen)
      return fail(
        "RECEIPT_REPLAYED",
        `request ${requestId} was already answered (worker ${seen.worker}, sequence ${seen.sequence}${where(seen.ref)})`,
        { requestId, worker: seen.worker, sequence: seen.sequence.toString(), firstSeen: seen.ref ?? null },
      );
    return ok(null);
  }

  /** Accepts a receipt's (worker, sequence, requestId), or says why it is a replay or stale. */
  accept(worker: Hex, sequence: bigint, requestId: Hex, ref?: R): Verdict<bigint> {
    const checked = this.check(worker, sequence, requestId);
    if (!checked.ok) return checked;
    const w = worker.toLowerCase() as Hex;
    let ring = this.rings.get(w);
    if (!ring) {
      ring = {
        high: sequence,
        sequences: new BigUint64Array(this.window),
        occupied: new Uint8Array(this.window),
        requestIds: new Array(this.window),
        refs: new Array(this.window),
      };
      this.rings.set(w, ring);
    }
    if (sequence > ring.high) ring.high = sequence;
    const slot = Number(sequence % this.size);
    // The slot's previous receipt is out of the window now: forget its request id with it.
    const evicted = ring.occupied[slot] ? ring.requestIds[slot] : undefined;
    if (evicted !== undefined) this.requests.delete(evicted);
    const id = requestId.toLowerCase();
    ring.sequences[slot] = sequence;
    ring.occupied[slot] = 1;
    ring.requestIds[slot] = id;
    ring.refs[slot] = ref;
    this.requests.set(id, { worker: w, sequence, ref });
    return ok(sequence);
  }
}

function where(ref: unknown): string {
  return ref === undefined || ref === null ? "" : ` (first at ${String(ref)})`;
}
