/**
 * A minimal ONNX ModelProto writer (protobuf wire format, field numbers from onnx.proto). It exists so
 * tests can build small real ONNX graphs with the same input and output names as BERT exports and run
 * them through onnxruntime-node: no model weights can be downloaded here.
 */

/** ONNX tensor element types used here. */
export const ONNX_FLOAT = 1 as const;
export const ONNX_INT64 = 7 as const;

class Writer {
  private readonly bytes: number[] = [];
  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.bytes.push(Number((v & 0x7fn) | 0x80n));
      v >>= 7n;
    }
    this.bytes.push(Number(v));
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  int(field: number, value: number | bigint): this {
    return this.tag(field, 0).varint(value);
  }
  bytesField(field: number, data: Uint8Array): this {
    this.tag(field, 2).varint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }
  string(field: number, text: string): this {
    return this.bytesField(field, new TextEncoder().encode(text));
  }
  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.bytesField(field, inner.finish());
  }
  float(field: number, value: number): this {
    this.tag(field, 5);
    const buf = new Uint8Array(4);
    new DataView(buf.buffer).setFloat32(0, value, true);
    for (const b of buf) this.bytes.push(b);
    return this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** A constant tensor. */
export interface TensorSpec {
  readonly name: string;
  readonly dims: readonly number[];
  readonly type: typeof ONNX_FLOAT | typeof ONNX_INT64;
  readonly data: Float32Array | BigInt64Array;
}

/** An attribute value. */
export type AttributeValue =
  | { readonly int: number }
  | { readonly ints: readonly number[] }
  | { readonly float: number };

/** A graph node. */
export interface NodeSpec {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

/** A graph input or output with symbolic (string) or fixed (number) dimensions. */
export interface ValueSpec {
  readonly name: string;
  readonly type: typeof ONNX_FLOAT | typeof ONNX_INT64;
  readonly shape: readonly (number | string)[];
}

function writeTensor(w: Writer, t: TensorSpec) {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.type);
  w.string(8, t.name);
  w.bytesField(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function writeValue(w: Writer, v: ValueSpec) {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.type);
      tensor.message(2, (shape) => {
        for (const d of v.shape)
          shape.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

/** Serializes a single-graph model (IR version 8, default-domain opset `opset`). */
export function buildOnnxModel(options: {
  readonly nodes: readonly NodeSpec[];
  readonly inputs: readonly ValueSpec[];
  readonly outputs: readonly ValueSpec[];
  readonly initializers: readonly TensorSpec[];
  readonly opset?: number;
}): Uint8Array {
  const w = new Writer();
  w.int(1, 8);
  w.string(2, "verinfer-test");
  w.message(7, (g) => {
    options.nodes.forEach((n, i) => {
      g.message(1, (node) => {
        for (const input of n.inputs) node.string(1, input);
        for (const output of n.outputs) node.string(2, output);
        node.string(3, `${n.op}_${i}`);
        node.string(4, n.op);
        for (const [name, value] of Object.entries(n.attributes ?? {})) {
          node.message(5, (a) => {
            a.string(1, name);
            if ("int" in value) a.int(3, value.int).int(20, 2);
            else if ("float" in value) a.float(2, value.float).int(20, 1);
            else {
              for (const v of value.ints) a.int(8, v);
              a.int(20, 7);
            }
          });
        }
      });
    });
    g.string(2, "graph");
    for (const t of options.initializers) g.message(5, (m) => writeTensor(m, t));
    for (const v of options.inputs) g.message(11, (m) => writeValue(m, v));
    for (const v of options.outputs) g.message(12, (m) => writeValue(m, v));
  });
  w.message(8, (o) => o.string(1, "").int(2, options.opset ?? 13));
  return w.finish();
}
