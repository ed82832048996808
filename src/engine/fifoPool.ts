/**
 * A fixed set of resources handed out first come, first served: an engine's worker threads, or the one
 * llama.cpp sequence. Callers that find none free wait in call order; a waiter whose signal aborts
 * leaves the line with GENERATION_CANCELLED.
 */
import { VerinferError } from "../errors.ts";

interface Waiter<T> {
  give(resource: T): void;
  fail(error: Error): void;
}

/** Resources handed out in call order. */
export class FifoPool<T> {
  private readonly free: T[];
  private readonly waiting: Waiter<T>[] = [];
  private closed: Error | null = null;

  constructor(resources: readonly T[]) {
    this.free = [...resources];
  }

  /** Callers waiting for a resource. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Takes a resource, waiting for one when none is free. */
  acquire(signal?: AbortSignal): Promise<T> {
    if (this.closed) return Promise.reject(this.closed);
    if (signal?.aborted) return Promise.reject(cancelled());
    const resource = this.waiting.length === 0 ? this.free.shift() : undefined;
    if (resource !== undefined) return Promise.resolve(resource);
    return new Promise<T>((resolve, reject) => {
      const leave = () => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(cancelled());
      };
      const waiter: Waiter<T> = {
        give: (r) => {
          signal?.removeEventListener("abort", leave);
          resolve(r);
        },
        fail: (e) => {
          signal?.removeEventListener("abort", leave);
          reject(e);
        },
      };
      signal?.addEventListener("abort", leave, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** Gives a resource back (to the longest waiter, if any). */
  release(resource: T): void {
    const next = this.waiting.shift();
    if (next) next.give(resource);
    else this.free.push(resource);
  }

  /** Fails every waiter and every later acquire with `error` (the owner is closing). */
  close(error: Error): void {
    this.closed = error;
    for (const w of this.waiting.splice(0)) w.fail(error);
  }
}

/** Runs a generator holding one of the pool's resources, taken in turn and given back when it ends. */
export async function* inTurn<T, Y, R>(
  pool: FifoPool<T>,
  signal: AbortSignal | undefined,
  run: () => AsyncGenerator<Y, R, void>,
): AsyncGenerator<Y, R, void> {
  const resource = await pool.acquire(signal);
  try {
    return yield* run();
  } finally {
    pool.release(resource);
  }
}

/** The error a cancelled generation ends with. */
export function cancelled(): VerinferError {
  return new VerinferError("GENERATION_CANCELLED", "the generation was cancelled (the client left)");
}
