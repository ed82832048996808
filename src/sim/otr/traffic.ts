/**
 * Random quantities of the OTR simulator, all drawn from the project's seeded PRNG: arrivals (Poisson,
 * or bursty — a two-state Markov-modulated Poisson process that spends a fraction of the time in bursts
 * at a multiple of the calm rate, with the same mean), and log-normal durations (service, network,
 * proving), given by their median and the σ of their logarithm.
 */
import type { Rng } from "../../protocol/rng/prng.ts";

/** How requests arrive. */
export type Arrivals =
  | { readonly kind: "poisson"; readonly ratePerSecond: number }
  | {
      readonly kind: "bursty";
      readonly ratePerSecond: number;
      /** Burst rate ÷ calm rate. */
      readonly burstRatio: number;
      /** Share of the time spent in bursts. */
      readonly burstFraction: number;
      readonly meanBurstSeconds: number;
    };

/** A log-normal duration. */
export interface LogNormal {
  readonly medianMs: number;
  readonly sigma: number;
}

/** A draw from a log-normal duration (ms). */
export function drawLogNormal(d: LogNormal, rng: Rng): number {
  return d.sigma === 0 ? d.medianMs : d.medianMs * Math.exp(d.sigma * rng.normal());
}

/** The mean of a log-normal duration: median · e^{σ²/2}. */
export function meanLogNormal(d: LogNormal): number {
  return d.medianMs * Math.exp((d.sigma * d.sigma) / 2);
}

/** An exponential draw with the given mean. */
export function drawExponential(meanMs: number, rng: Rng): number {
  return -Math.log(1 - rng.float()) * meanMs;
}

/** Generates arrival times (ms, increasing) one at a time. */
export class ArrivalProcess {
  private now = 0;
  private bursting = false;
  private switchAt = Number.POSITIVE_INFINITY;
  private readonly calmRate: number;
  private readonly burstRate: number;
  private readonly meanCalmMs: number;
  private readonly meanBurstMs: number;

  constructor(
    a: Arrivals,
    private readonly rng: Rng,
  ) {
    if (a.kind === "poisson") {
      this.calmRate = this.burstRate = a.ratePerSecond / 1000;
      this.meanCalmMs = this.meanBurstMs = Number.POSITIVE_INFINITY;
    } else {
      this.calmRate = a.ratePerSecond / 1000 / (1 - a.burstFraction + a.burstFraction * a.burstRatio);
      this.burstRate = this.calmRate * a.burstRatio;
      this.meanBurstMs = a.meanBurstSeconds * 1000;
      this.meanCalmMs = (this.meanBurstMs * (1 - a.burstFraction)) / Math.max(a.burstFraction, 1e-12);
      this.switchAt = drawExponential(this.meanCalmMs, rng);
    }
  }

  /** The next arrival time. */
  next(): number {
    for (;;) {
      const rate = this.bursting ? this.burstRate : this.calmRate;
      const t = this.now + drawExponential(1 / rate, this.rng);
      if (t < this.switchAt) {
        this.now = t;
        return t;
      }
      // Memoryless: restart the draw from the switch at the new rate.
      this.now = this.switchAt;
      this.bursting = !this.bursting;
      this.switchAt =
        this.now + drawExponential(this.bursting ? this.meanBurstMs : this.meanCalmMs, this.rng);
    }
  }
}
