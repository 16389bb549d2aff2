import { allInputs, hasControlAfterGenerate, isWidgetSpec, type ComboSpec, type InputSpec, type NodeDef } from '../graph/node.ts';
import { isPlainObject } from './json.ts';

/**
 * The widgets ComfyUI's frontend creates for a node, in order: one per widget-capable input of
 * `required` then `optional` (forceInput and socket types have none), a hidden control value right after
 * seed-like INTs and opted-in combos (a combo also gets a filter string), and the upload button of
 * image_upload combos after all of them. `widgets_values` is positional over this list.
 */
export type WidgetKind = 'value' | 'control' | 'filter' | 'upload';

export interface WidgetSlot {
  name: string;
  kind: WidgetKind;
  spec?: InputSpec;
  optional: boolean;
}

export const CONTROL_VALUES = new Set(['fixed', 'increment', 'decrement', 'randomize', 'increment-wrap']);

export function isControlValue(v: unknown): boolean {
  return typeof v === 'boolean' || (typeof v === 'string' && CONTROL_VALUES.has(v));
}

export function widgetLayout(def: NodeDef): WidgetSlot[] {
  const out: WidgetSlot[] = [];
  const uploads: WidgetSlot[] = [];
  for (const [name, spec, group] of allInputs(def)) {
    if (!isWidgetSpec(spec)) continue;
    const optional = group === 'optional';
    out.push({ name, kind: 'value', spec, optional });
    if (hasControlAfterGenerate(name, spec)) {
      out.push({ name: 'control_after_generate', kind: 'control', optional: true });
      if (spec.type === 'COMBO') out.push({ name: 'control_filter_list', kind: 'filter', optional: true });
    }
    if (spec.type === 'COMBO' && (spec as ComboSpec).image_upload) uploads.push({ name: 'upload', kind: 'upload', optional: true });
  }
  return [...out, ...uploads];
}

export interface WidgetRead {
  /** Values of value widgets found in widgets_values, by input name. */
  values: Map<string, unknown>;
  /** The upload button's stored value ("image"), when the file has one. */
  upload?: unknown;
}

/**
 * Maps widgets_values onto the layout. Tolerates trailing extras, short arrays (widgets added to the
 * node since the file was saved), object-shaped values keyed by name, and files written without the
 * control values (detected when a control position holds something that is not a control value).
 */
export function readWidgetValues(layout: WidgetSlot[], wv: unknown): WidgetRead {
  const values = new Map<string, unknown>();
  if (isPlainObject(wv)) {
    for (const s of layout) if (s.kind === 'value' && Object.prototype.hasOwnProperty.call(wv, s.name)) values.set(s.name, wv[s.name]);
    return { values };
  }
  if (!Array.isArray(wv)) return { values };
  let slots = layout;
  const controlsMissing = layout.some((s, i) => s.kind === 'control' && i < wv.length && !isControlValue(wv[i]));
  if (controlsMissing) slots = layout.filter((s) => s.kind !== 'control' && s.kind !== 'filter');
  const read: WidgetRead = { values };
  slots.forEach((s, i) => {
    if (i >= wv.length) return;
    if (s.kind === 'value') values.set(s.name, wv[i]);
    else if (s.kind === 'upload') read.upload = wv[i];
  });
  return read;
}

/** The value a freshly created widget holds: the schema default, else the first fixed combo option. */
export function widgetDefault(spec: InputSpec): unknown {
  const d = (spec as { default?: unknown }).default;
  if (d !== undefined) return d;
  if (spec.type === 'COMBO') {
    const o = (spec as ComboSpec).options;
    if (Array.isArray(o)) return o[0];
    return undefined;
  }
  if (spec.type === 'INT' || spec.type === 'FLOAT') {
    const min = (spec as { min?: number | bigint }).min;
    return min !== undefined && Number(min) > 0 ? min : 0;
  }
  if (spec.type === 'STRING') return '';
  if (spec.type === 'BOOLEAN') return false;
  return undefined;
}
