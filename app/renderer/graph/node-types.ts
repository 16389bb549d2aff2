/**
 * Generates one litegraph node class per /object_info entry: widgets from the input specs (in the
 * engine's widgetLayout order, so widgets_values line up with uiToApi), sockets for link types,
 * coloured by type, hollow when optional. No per-node UI code.
 */
import { LGraphCanvas, LGraphNode, LiteGraph, RenderShape } from '@comfyorg/litegraph';
import type { BooleanSpec, ComboSpec, FloatSpec, InputSpec, IntSpec, NodeDef, StringSpec } from '../../../engine/graph/node.ts';
import { allInputs, isWidgetSpec } from '../../../engine/graph/node.ts';
import { widgetLayout } from '../../../engine/workflow/widgets.ts';
import { CONTROL_MODES } from '../seed-control.ts';
import { SLOT_COLORS, slotColor } from './slot-colors.ts';
import { drawNodeImages, type IBaseWidget, type WeftNode } from './node-images.ts';

export interface NodeTypeHooks {
  /** The upload button of image_upload combos was pressed. */
  upload(node: LGraphNode, combo: IBaseWidget): void;
}

const noop = () => {};

function decimals(x: number): number {
  const s = String(x);
  return s.includes('.') ? s.split('.')[1].length : 0;
}

function addValueWidget(node: LGraphNode, name: string, def: NodeDef): IBaseWidget {
  const spec = def.inputs.required?.[name] ?? def.inputs.optional?.[name]!;
  const w = makeWidget(node, name, spec);
  if (spec.display_name) w.label = spec.display_name;
  return w;
}

function makeWidget(node: LGraphNode, name: string, spec: InputSpec): IBaseWidget {
  switch (spec.type) {
    case 'INT': {
      const s = spec as IntSpec;
      // litegraph's number widget moves by step/10 per click; ComfyUI compensates the same way.
      const opts = { min: Number(s.min ?? 0), max: Number(s.max ?? 2048), step: 10 * (s.step ?? 1), precision: 0 };
      return node.addWidget('number', name, Number(s.default ?? (opts.min > 0 ? opts.min : 0)), noop, opts);
    }
    case 'FLOAT': {
      const s = spec as FloatSpec;
      const step = s.step ?? 0.01;
      const precision = typeof s.round === 'number' ? decimals(s.round) : decimals(step);
      const opts = { min: s.min ?? 0, max: s.max ?? 2048, step: 10 * step, precision, round: typeof s.round === 'number' ? s.round : undefined };
      return node.addWidget('number', name, s.default ?? (opts.min > 0 ? opts.min : 0), noop, opts);
    }
    case 'STRING': {
      const s = spec as StringSpec;
      return node.addWidget('text', name, s.default ?? '', noop, { multiline: s.multiline === true });
    }
    case 'BOOLEAN': {
      const s = spec as BooleanSpec;
      return node.addWidget('toggle', name, s.default ?? false, noop, { on: s.label_on ?? 'true', off: s.label_off ?? 'false' });
    }
    default: {
      const s = spec as ComboSpec;
      const values = Array.isArray(s.options) ? [...(s.options as string[])] : [];
      return node.addWidget('combo', name, s.default ?? values[0] ?? '', noop, { values });
    }
  }
}

function defineClass(def: NodeDef, hooks: NodeTypeHooks): typeof LGraphNode {
  const layout = widgetLayout(def);
  const cls = class extends LGraphNode {
    static title = def.displayName ?? def.name;
    static category = def.category;
    static comfyClass = def.name;
    constructor(title?: string) {
      super(title ?? def.displayName ?? def.name);
      const node = this as unknown as WeftNode;
      node.serialize_widgets = true;
      for (const [name, spec, group] of allInputs(def)) {
        if (isWidgetSpec(spec)) continue;
        const color = slotColor(spec.type);
        const extra: Record<string, unknown> = { label: spec.display_name ?? name };
        if (group === 'optional') extra.shape = RenderShape.HollowCircle;
        if (color) Object.assign(extra, { color_on: color, color_off: color });
        node.addInput(name, spec.type, extra);
      }
      let lastCombo: IBaseWidget | undefined;
      for (const slot of layout) {
        if (slot.kind === 'value') {
          const w = addValueWidget(node, slot.name, def);
          if (w.type === 'combo') lastCombo = w;
          if ((slot.spec as ComboSpec | undefined)?.image_upload) node.uploadTarget = w;
        } else if (slot.kind === 'control') {
          node.addWidget('combo', 'control_after_generate', 'randomize', noop, { values: [...CONTROL_MODES] });
        } else if (slot.kind === 'filter') {
          node.addWidget('text', 'control_filter_list', '', noop, {});
        } else {
          const target = node.uploadTarget ?? lastCombo;
          const w = node.addWidget('button', 'upload', 'image', () => target && hooks.upload(node, target), {});
          w.label = 'choose file to upload';
        }
      }
      for (const out of def.outputs) {
        const color = slotColor(out.type);
        node.addOutput(out.name ?? out.type, out.type, color ? { color_on: color, color_off: color } : {});
      }
    }
    onDrawBackground(ctx: CanvasRenderingContext2D): void {
      drawNodeImages(this as unknown as WeftNode, ctx);
    }
  };
  return cls as unknown as typeof LGraphNode;
}

/** Frontend-only node types ComfyUI workflows contain; the engine skips them when converting. */
function registerVirtualTypes(): void {
  class Note extends LGraphNode {
    static title = 'Note';
    constructor(title?: string) {
      super(title ?? 'Note');
      const node = this as unknown as LGraphNode;
      node.serialize_widgets = true;
      node.addWidget('text', 'text', '', noop, { multiline: true });
      node.color = '#432';
      node.bgcolor = '#653';
    }
  }
  class Reroute extends LGraphNode {
    static title = 'Reroute';
    constructor(title?: string) {
      super(title ?? 'Reroute');
      const node = this as unknown as LGraphNode;
      node.addInput('', '*');
      node.addOutput('', '*');
      node.size = [75, 26];
    }
  }
  LiteGraph.registerNodeType('Note', Note);
  LiteGraph.registerNodeType('MarkdownNote', class extends Note {});
  LiteGraph.registerNodeType('Reroute', Reroute);
}

/** Registers every def (replacing earlier registrations, so a refresh picks up new models). */
export function registerNodeTypes(defs: readonly NodeDef[], hooks: NodeTypeHooks): void {
  LiteGraph.clearRegisteredTypes();
  registerVirtualTypes();
  for (const def of defs) {
    const cls = defineClass(def, hooks);
    LiteGraph.registerNodeType(def.name, cls);
    cls.category = def.category; // registerNodeType derives it from a "/" in the type name; ours are plain
  }
  for (const [type, color] of Object.entries(SLOT_COLORS)) LGraphCanvas.link_type_colors[type] = color;
}
