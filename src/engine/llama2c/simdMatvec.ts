/**
 * The float engine's hot loop in WebAssembly SIMD: y[i] = Σ_j W[i][j]·x[j] with f32x4 lanes, four rows
 * at a time so each load of x serves four rows. The module is assembled here from its opcodes (no
 * toolchain needed) and works on a WebAssembly.Memory that holds the weights, so the checkpoint is
 * copied into it once and read in place.
 *
 * Summation order differs from the scalar path (four float32 lanes per row, then lane 0+1 and 2+3):
 * results agree with run.c's to float32 rounding, and the golden tokens still match (tested).
 */

const leb = (n: number): number[] => {
  const out: number[] = [];
  let v = n;
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  let v = n;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
};
const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const vec = (items: number[][]) => [...leb(items.length), ...items.flat()];
const name = (s: string) => [...leb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

// Opcodes.
const I32 = 0x7f;
const V128 = 0x7b;
const get = (i: number) => [0x20, ...leb(i)];
const set = (i: number) => [0x21, ...leb(i)];
const i32 = (n: number) => [0x41, ...sleb(n)];
const add = [0x6a];
const mul = [0x6c];
const shl = [0x74];
const geU = [0x4f];
const block = [0x02, 0x40];
const loop = [0x03, 0x40];
const end = [0x0b];
const br = (d: number) => [0x0c, ...leb(d)];
const brIf = (d: number) => [0x0d, ...leb(d)];
const simd = (op: number, ...rest: number[]) => [0xfd, ...leb(op), ...rest];
const v128Load = (offset: number) => simd(0x00, 4, ...leb(offset));
const f32x4Add = simd(228);
const f32x4Mul = simd(230);
const v128Zero = simd(12, ...new Array(16).fill(0));
const lane = (l: number) => simd(31, l);
const f32Add = [0x92];
const f32Store = (offset: number) => [0x38, 2, ...leb(offset)];

/**
 * matvec(w, x, out, n, d): params 0..4; locals i(5) j(6) row(7) (i32), xj(8) a0..a3(9..12) (v128).
 * Rows in groups of 4 (d must be a multiple of 4), columns in steps of 4 (n must be a multiple of 4).
 */
function body(): number[] {
  const [W, X, OUT, N, D, I, J, ROW, XJ, A0, A1, A2, A3] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const rowStride = [...get(N), ...i32(2), ...shl]; // n·4 bytes
  const acc = (a: number, rowOffsetRows: number) => [
    ...get(a),
    ...get(ROW),
    ...get(J),
    ...add,
    ...(rowOffsetRows === 0 ? [] : [...rowStride, ...i32(rowOffsetRows), ...mul, ...add]),
    ...v128Load(0),
    ...get(XJ),
    ...f32x4Mul,
    ...f32x4Add,
    ...set(a),
  ];
  const store = (a: number, k: number) => [
    ...get(OUT),
    ...get(I),
    ...i32(k),
    ...add,
    ...i32(2),
    ...shl,
    ...add,
    ...get(a),
    ...lane(0),
    ...get(a),
    ...lane(1),
    ...f32Add,
    ...get(a),
    ...lane(2),
    ...get(a),
    ...lane(3),
    ...f32Add,
    ...f32Add,
    ...f32Store(0),
  ];
  const code = [
    ...i32(0),
    ...set(I),
    ...get(W),
    ...set(ROW),
    ...block,
    ...loop,
    ...get(I),
    ...get(D),
    ...geU,
    ...brIf(1),
    ...v128Zero,
    ...set(A0),
    ...v128Zero,
    ...set(A1),
    ...v128Zero,
    ...set(A2),
    ...v128Zero,
    ...set(A3),
    ...i32(0),
    ...set(J),
    ...block,
    ...loop,
    ...get(J),
    ...rowStride,
    ...geU,
    ...brIf(1),
    // xj = load x[j..j+4]
    ...get(X),
    ...get(J),
    ...add,
    ...v128Load(0),
    ...set(XJ),
    ...acc(A0, 0),
    ...acc(A1, 1),
    ...acc(A2, 2),
    ...acc(A3, 3),
    ...get(J),
    ...i32(16),
    ...add,
    ...set(J),
    ...br(0),
    ...end,
    ...end,
    ...store(A0, 0),
    ...store(A1, 1),
    ...store(A2, 2),
    ...store(A3, 3),
    ...get(ROW),
    ...rowStride,
    ...i32(4),
    ...mul,
    ...add,
    ...set(ROW),
    ...get(I),
    ...i32(4),
    ...add,
    ...set(I),
    ...br(0),
    ...end,
    ...end,
  ];
  const locals = vec([
    [...leb(3), I32],
    [...leb(5), V128],
  ]);
  const fn = [...locals, ...code, ...end];
  return [...leb(fn.length), ...fn];
}

function moduleBytes(): Uint8Array {
  return Uint8Array.from([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32]]), 0x00]])),
    ...section(2, vec([[...name("env"), ...name("memory"), 0x02, 0x00, ...leb(1)]])),
    ...section(3, vec([[0x00]])),
    ...section(7, vec([[...name("matvec"), 0x00, 0x00]])),
    ...section(10, vec([body()])),
  ]);
}

/** The slice of the WebAssembly API used here (the project's type libraries do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** A compiled matvec bound to a memory. */
export interface SimdMatvec {
  readonly memory: WasmMemory;
  /** out[0..d) = W·x for the d×n matrix at byte offset `w`; offsets in bytes, 16-byte aligned. */
  matvec(w: number, x: number, out: number, n: number, d: number): void;
}

let compiled: object | null | undefined;

/** The SIMD kernel over a memory of at least `bytes` bytes, or null when WebAssembly SIMD is unavailable. */
export function createSimdMatvec(bytes: number): SimdMatvec | null {
  if (compiled === undefined) {
    try {
      compiled = new wasm.Module(moduleBytes());
    } catch {
      compiled = null;
    }
  }
  if (!compiled) return null;
  const pages = Math.ceil(bytes / 65536);
  if (pages > 65536) return null;
  const memory = new wasm.Memory({ initial: pages, maximum: pages });
  const instance = new wasm.Instance(compiled, { env: { memory } });
  const fn = instance.exports.matvec as (w: number, x: number, out: number, n: number, d: number) => void;
  return { memory, matvec: fn };
}
