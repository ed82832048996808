/**
 * The discrete-event simulator's queue: a binary min-heap of (time, sequence) in typed arrays, so that
 * 10^7 events cost no allocation. Ties at the same time pop in the order they were pushed, which makes
 * a seeded run reproducible bit for bit.
 */

/** A min-heap of events: each a time, a kind and an integer payload. */
export class EventQueue {
  private times = new Float64Array(1024);
  private seqs = new Float64Array(1024);
  private kinds = new Int32Array(1024);
  private payloads = new Int32Array(1024);
  private n = 0;
  private counter = 0;
  /** The event last popped. */
  time = 0;
  kind = 0;
  payload = 0;
  /** Events pushed so far. */
  get pushed(): number {
    return this.counter;
  }
  get size(): number {
    return this.n;
  }

  push(time: number, kind: number, payload: number): void {
    if (this.n === this.times.length) this.grow();
    let i = this.n++;
    const seq = this.counter++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = this.times[parent] as number;
      if (pt < time || (pt === time && (this.seqs[parent] as number) < seq)) break;
      this.move(parent, i);
      i = parent;
    }
    this.times[i] = time;
    this.seqs[i] = seq;
    this.kinds[i] = kind;
    this.payloads[i] = payload;
  }

  /** Pops the earliest event into `time`, `kind`, `payload`; false when empty. */
  pop(): boolean {
    if (this.n === 0) return false;
    this.time = this.times[0] as number;
    this.kind = this.kinds[0] as number;
    this.payload = this.payloads[0] as number;
    const last = --this.n;
    const t = this.times[last] as number;
    const s = this.seqs[last] as number;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.n) break;
      const r = l + 1;
      let c = l;
      if (r < this.n) {
        const lt = this.times[l] as number;
        const rt = this.times[r] as number;
        if (rt < lt || (rt === lt && (this.seqs[r] as number) < (this.seqs[l] as number))) c = r;
      }
      const ct = this.times[c] as number;
      if (ct > t || (ct === t && (this.seqs[c] as number) > s)) break;
      this.move(c, i);
      i = c;
    }
    this.times[i] = t;
    this.seqs[i] = s;
    this.kinds[i] = this.kinds[last] as number;
    this.payloads[i] = this.payloads[last] as number;
    return true;
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from] as number;
    this.seqs[to] = this.seqs[from] as number;
    this.kinds[to] = this.kinds[from] as number;
    this.payloads[to] = this.payloads[from] as number;
  }

  private grow(): void {
    const widen = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(a.length * 2);
      b.set(a);
      return b;
    };
    this.times = widen(this.times, (k) => new Float64Array(k));
    this.seqs = widen(this.seqs, (k) => new Float64Array(k));
    this.kinds = widen(this.kinds, (k) => new Int32Array(k));
    this.payloads = widen(this.payloads, (k) => new Int32Array(k));
  }
}
