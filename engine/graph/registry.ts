import { allInputs, hasControlAfterGenerate, type ComboEnv, type ComboSpec, type InputSpec, type NodeDef } from './node.ts';

const BIG_MAX = 18446744073709551615n;
const IMAGE_EXT = /\.(png|jpe?g|webp|gif|bmp|tiff?|avif)$/i;

/** The set of node types an engine knows; renders ComfyUI-compatible /object_info. */
export class NodeRegistry {
  private readonly defs = new Map<string, NodeDef>();

  register(...defs: NodeDef<any, any>[]): this {
    for (const d of defs) {
      if (this.defs.has(d.name)) throw new Error(`node type ${d.name} registered twice`);
      this.defs.set(d.name, d as NodeDef);
    }
    return this;
  }

  get(name: string): NodeDef | undefined {
    return this.defs.get(name);
  }

  has(name: string): boolean {
    return this.defs.has(name);
  }

  names(): string[] {
    return [...this.defs.keys()];
  }

  all(): NodeDef[] {
    return [...this.defs.values()];
  }

  objectInfo(env: ComboEnv): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const d of this.defs.values()) out[d.name] = nodeInfo(d, env);
    return out;
  }
}

export function comboOptions(spec: ComboSpec, env: ComboEnv): string[] {
  const o = spec.options;
  if (Array.isArray(o)) return [...o];
  const src = o as Exclude<ComboSpec['options'], readonly string[]>;
  if (src.kind === 'models') return env.listModels(src.folder);
  if (src.kind === 'input') {
    // ComfyUI lists only the input folder's top level, and only images for image inputs.
    const top = env.listInput().filter((f) => !f.includes('/'));
    return src.images ? top.filter((f) => IMAGE_EXT.test(f)) : top;
  }
  return src.list(env);
}

function jsonNum(v: number | bigint): number | string {
  // object_info must stay valid JSON; the seed max 2^64−1 is written as a number by our BigInt-aware serializer.
  return typeof v === 'bigint' ? (v as unknown as number) : v;
}

export function inputInfo(name: string, spec: InputSpec, env: ComboEnv): unknown[] {
  const { type, ...rest } = spec as InputSpec & Record<string, unknown>;
  const opts: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) {
    if (k === 'options' || k === 'big') continue;
    opts[k] = typeof v === 'bigint' ? jsonNum(v) : v;
  }
  if (type === 'INT' && (spec as { big?: boolean }).big && opts.max === undefined) opts.max = BIG_MAX;
  if (hasControlAfterGenerate(name, spec)) opts.control_after_generate = true;
  if (type === 'COMBO') return [comboOptions(spec as ComboSpec, env), opts];
  return [type, opts];
}

export function nodeInfo(d: NodeDef, env: ComboEnv): Record<string, unknown> {
  const input: Record<string, Record<string, unknown>> = {};
  const order: Record<string, string[]> = {};
  for (const [name, spec, group] of allInputs(d)) {
    (input[group] ??= {})[name] = inputInfo(name, spec, env);
    (order[group] ??= []).push(name);
  }
  if (d.inputs.hidden) {
    input.hidden = { ...d.inputs.hidden };
    order.hidden = Object.keys(d.inputs.hidden);
  }
  input.required ??= {};
  const info: Record<string, unknown> = {
    input,
    input_order: order,
    output: d.outputs.map((o) => o.type),
    output_is_list: d.outputs.map((o) => o.isList === true),
    output_name: d.outputs.map((o) => o.name ?? o.type),
    output_tooltips: d.outputs.map((o) => o.tooltip ?? ''),
    name: d.name,
    display_name: d.displayName ?? d.name,
    description: d.description ?? '',
    python_module: 'nodes',
    category: d.category,
    output_node: d.outputNode === true,
  };
  if (d.deprecated) info.deprecated = true;
  if (d.experimental) info.experimental = true;
  if (!d.run) info.weft_unimplemented = true;
  return info;
}
