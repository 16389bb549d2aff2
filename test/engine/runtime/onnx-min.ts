/**
 * A minimal ONNX ModelProto writer for the runtime tests (the real one lives in engine/onnx/ and is
 * not a dependency of these tests). Supports float32 tensors, inline or external initializers.
 */
type Bytes = Uint8Array;

function varint(n: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  while (v >= 0x80n) { out.push(Number(v & 0x7fn) | 0x80); v >>= 7n; }
  out.push(Number(v));
  return out;
}
const cat = (parts: Bytes[]): Bytes => Buffer.concat(parts);
const key = (field: number, wire: number): number[] => varint((field << 3) | wire);
const int = (field: number, v: number | bigint): Bytes => Uint8Array.from([...key(field, 0), ...varint(v)]);
const len = (field: number, body: Bytes): Bytes => cat([Uint8Array.from([...key(field, 2), ...varint(body.length)]), body]);
const str = (field: number, s: string): Bytes => len(field, Buffer.from(s, 'utf8'));

export interface Init { name: string; dims: number[]; data?: Float32Array; external?: { location: string; offset: number; length: number } }
export interface Node { op: string; inputs: string[]; outputs: string[]; domain?: string }
export interface IO { name: string; dims: number[] }

function tensor(t: Init): Bytes {
  const parts: Bytes[] = t.dims.map((d) => int(1, d));
  parts.push(int(2, 1), str(8, t.name));
  if (t.data) parts.push(len(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)));
  if (t.external) {
    for (const [k, v] of [['location', t.external.location], ['offset', String(t.external.offset)], ['length', String(t.external.length)]]) parts.push(len(13, cat([str(1, k!), str(2, v!)])));
    parts.push(int(14, 1));
  }
  return cat(parts);
}
function valueInfo(io: IO): Bytes {
  const shape = cat(io.dims.map((d) => len(1, int(1, d))));
  return cat([str(1, io.name), len(2, len(1, cat([int(1, 1), len(2, shape)])))]);
}
function node(n: Node, i: number): Bytes {
  return cat([...n.inputs.map((x) => str(1, x)), ...n.outputs.map((x) => str(2, x)), str(3, `n${i}`), str(4, n.op), ...(n.domain ? [str(7, n.domain)] : [])]);
}

export function model(g: { nodes: Node[]; inits: Init[]; inputs: IO[]; outputs: IO[] }): Uint8Array {
  const graph = cat([...g.nodes.map((n, i) => len(1, node(n, i))), str(2, 'g'), ...g.inits.map((t) => len(5, tensor(t))), ...g.inputs.map((x) => len(11, valueInfo(x))), ...g.outputs.map((x) => len(12, valueInfo(x)))]);
  return cat([int(1, 10), len(8, cat([str(1, ''), int(2, 21)])), len(8, cat([str(1, 'com.microsoft'), int(2, 1)])), str(2, 'weft-test'), len(7, graph)]);
}

export function seeded(n: number, seed: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = (s / 2 ** 32 - 0.5) * 2 * scale; }
  return a;
}

/** X[n,n] through `depth` MatMuls with one shared weight and a Tanh each: heavy enough to block a thread. */
export function matmulChain(n: number, depth: number): Uint8Array {
  const nodes: Node[] = [];
  let x = 'x';
  for (let i = 0; i < depth; i++) {
    nodes.push({ op: 'MatMul', inputs: [x, 'w'], outputs: [`m${i}`] });
    nodes.push({ op: 'Tanh', inputs: [`m${i}`], outputs: [i === depth - 1 ? 'y' : `t${i}`] });
    x = `t${i}`;
  }
  return model({ nodes, inits: [{ name: 'w', dims: [n, n], data: seeded(n * n, 7, 1 / Math.sqrt(n)) }], inputs: [{ name: 'x', dims: [n, n] }], outputs: [{ name: 'y', dims: [n, n] }] });
}
