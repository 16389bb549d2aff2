/** Reads the nodes of serialised ONNX ModelProto bytes back, so tests can say which ops a built graph uses. */

export interface OnnxNode { op: string; domain: string; inputs: string[]; to?: number }

type Field = [number, number, Uint8Array | number];

function fields(b: Uint8Array): Field[] {
  const out: Field[] = [];
  let p = 0;
  const varint = (): number => { let v = 0, s = 1, c: number; do { c = b[p++]!; v += (c & 0x7f) * s; s *= 128; } while (c & 0x80); return v; };
  while (p < b.length) {
    const key = varint(), wire = key % 8, field = Math.floor(key / 8);
    if (wire === 0) out.push([field, wire, varint()]);
    else if (wire === 2) { const n = varint(); out.push([field, wire, b.subarray(p, p + n)]); p += n; }
    else p += wire === 1 ? 8 : 4;
  }
  return out;
}

const text = (v: Uint8Array | number): string => new TextDecoder().decode(v as Uint8Array);

/** ModelProto graph = field 7; NodeProto input 1, op_type 4, attribute 5 (name 1, i 3), domain 7. */
export function onnxNodes(bytes: Uint8Array): OnnxNode[] {
  const graph = fields(bytes).find(([f, w]) => f === 7 && w === 2)![2] as Uint8Array;
  return fields(graph).filter(([f]) => f === 1).map(([, , n]) => {
    const node: OnnxNode = { op: '', domain: '', inputs: [] };
    for (const [f, , v] of fields(n as Uint8Array)) {
      if (f === 1) node.inputs.push(text(v));
      else if (f === 4) node.op = text(v);
      else if (f === 7) node.domain = text(v);
      else if (f === 5) {
        const a = fields(v as Uint8Array);
        if (a.some(([af, , av]) => af === 1 && text(av) === 'to')) node.to = a.find(([af]) => af === 3)?.[2] as number;
      }
    }
    return node;
  });
}

/** com.microsoft ops ORT 1.30's WebGPU EP has kernels for (research/onnx.md §1b). */
export const WEBGPU_CONTRIB_OPS = new Set(['Attention', 'BiasAdd', 'BiasGelu', 'BiasSplitGelu', 'FastGelu', 'FusedConv', 'Gelu', 'MatMulNBits', 'MultiHeadAttention', 'QuickGelu', 'RotaryEmbedding', 'SkipLayerNormalization', 'GroupQueryAttention']);

export const FLOAT16 = 10;
