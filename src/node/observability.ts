/**
 * What every role exposes about itself: structured logs (pino, JSON lines; never prompts, outputs or
 * keys at info level — amounts as strings, as pino would round bigints) and Prometheus metrics
 * (prom-client, one registry per process, served at /metrics with the process's default metrics).
 */
import { type Logger, pino } from "pino";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export type { Logger };

/** Log levels a node accepts. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** A JSON logger for `role` writing to stderr (stdout stays free for the CLI's own output). */
export function nodeLogger(role: string, level: (typeof LOG_LEVELS)[number]): Logger {
  return pino(
    { name: `verinfer-${role}`, level, base: { role, pid: process.pid } },
    pino.destination({ dest: 2, sync: true }),
  );
}

/** A metrics registry with the process's default metrics, prefixed `verinfer_<role>_`. */
export class NodeMetrics {
  readonly registry = new Registry();
  constructor(readonly role: string) {
    // The event-loop delay histogram samples every `eventLoopMonitoringPrecision` ms: prom-client's 10 ms
    // woke every node 100 times a second, ~10 ms of CPU a second when idle; 100 ms still sees any lag
    // that matters to a scrape every few seconds.
    collectDefaultMetrics({
      register: this.registry,
      prefix: "verinfer_",
      eventLoopMonitoringPrecision: 100,
    });
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter<string> {
    return new Counter({ name: this.full(name), help, labelNames, registers: [this.registry] });
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge<string> {
    return new Gauge({ name: this.full(name), help, labelNames, registers: [this.registry] });
  }

  /** A histogram in seconds, by default with buckets from 0.5 ms to 60 s. */
  seconds(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    buckets: readonly number[] = [
      0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
    ],
  ): Histogram<string> {
    return new Histogram({
      name: this.full(name),
      help,
      labelNames,
      buckets: [...buckets],
      registers: [this.registry],
    });
  }

  /** The exposition text and its content type. */
  async exposition(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }

  private full(name: string): string {
    return `verinfer_${this.role}_${name}`;
  }
}
