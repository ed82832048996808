/**
 * The latest items pushed, oldest first, at most `cap` of them: the history a view shows (`/health`,
 * `/v1/network`, a process's last log lines), which must not grow with how long the node has run.
 */
export class Latest<T> {
  private readonly kept: T[] = [];

  constructor(readonly cap: number) {
    if (!Number.isInteger(cap) || cap < 1) throw new RangeError(`cap must be a positive integer, got ${cap}`);
  }

  push(item: T): void {
    this.kept.push(item);
    if (this.kept.length > this.cap) this.kept.shift();
  }

  /** Oldest first. */
  get items(): readonly T[] {
    return this.kept;
  }
}
