import type { SocketValue } from './sockets.ts';
import type { NodeContext } from './context.ts';

interface BaseSpec {
  tooltip?: string;
  /** Always a socket, never a widget (ComfyUI's forceInput). */
  forceInput?: boolean;
  lazy?: boolean;
  advanced?: boolean;
  display_name?: string;
}

export interface IntSpec extends BaseSpec {
  type: 'INT';
  default?: number | bigint;
  min?: number | bigint;
  max?: number | bigint;
  step?: number;
  display?: 'number' | 'slider' | 'color';
  control_after_generate?: boolean;
  /** Values may exceed 2^53 (seeds up to 2^64−1): the node receives a bigint. */
  big?: boolean;
}

export interface FloatSpec extends BaseSpec {
  type: 'FLOAT';
  default?: number;
  min?: number;
  max?: number;
  step?: number;
  round?: number | false;
  display?: 'number' | 'slider';
}

export interface StringSpec extends BaseSpec {
  type: 'STRING';
  default?: string;
  multiline?: boolean;
  placeholder?: string;
  dynamicPrompts?: boolean;
}

export interface BooleanSpec extends BaseSpec {
  type: 'BOOLEAN';
  default?: boolean;
  label_on?: string;
  label_off?: string;
}

/** Where a combo's options come from when they are not fixed: files in a models folder, the input folder, … */
export type ComboSource =
  | { kind: 'models'; folder: string }
  | { kind: 'input'; images?: boolean }
  | { kind: 'custom'; list: (env: ComboEnv) => string[] };

export interface ComboEnv {
  listModels(folder: string): string[];
  listInput(): string[];
}

export interface ComboSpec extends BaseSpec {
  type: 'COMBO';
  options: readonly string[] | ComboSource;
  default?: string;
  image_upload?: boolean;
  control_after_generate?: boolean;
}

/** A socket that only accepts links (MODEL, IMAGE, …). */
export interface LinkSpec<T extends string = string> extends BaseSpec {
  type: T;
}

export type InputSpec = IntSpec | FloatSpec | StringSpec | BooleanSpec | ComboSpec | LinkSpec;

export type HiddenKind = 'PROMPT' | 'EXTRA_PNGINFO' | 'UNIQUE_ID' | 'DYNPROMPT';

export interface InputsSpec {
  required?: Record<string, InputSpec>;
  optional?: Record<string, InputSpec>;
  hidden?: Record<string, HiddenKind>;
}

export interface OutputSpec {
  type: string;
  name?: string;
  isList?: boolean;
  tooltip?: string;
}

type ValueOf<S> = S extends IntSpec
  ? S extends { big: true }
    ? bigint
    : number
  : S extends FloatSpec
    ? number
    : S extends StringSpec
      ? string
      : S extends BooleanSpec
        ? boolean
        : S extends ComboSpec
          ? string
          : S extends LinkSpec<infer T>
            ? SocketValue<T>
            : unknown;

type Req<R> = R extends Record<string, InputSpec> ? { [K in keyof R]: ValueOf<R[K]> } : {};
type Opt<O> = O extends Record<string, InputSpec> ? { [K in keyof O]?: ValueOf<O[K]> } : {};

/** The typed inputs a node's `run` receives, derived from its schema. */
export type InputValues<I extends InputsSpec> = Req<I['required']> & Opt<I['optional']>;

/** The typed outputs tuple, derived from the schema's outputs. */
export type OutputValues<O extends readonly OutputSpec[]> = {
  -readonly [K in keyof O]: O[K] extends { isList: true } ? SocketValue<O[K]['type']>[] : SocketValue<O[K]['type']>;
};

/** What output nodes show: ComfyUI's `ui` dict, e.g. {images: [{filename, subfolder, type}]}. */
export type UiOutput = Record<string, unknown[]>;

export type NodeResult<O extends readonly OutputSpec[]> = OutputValues<O> | { outputs?: OutputValues<O>; ui?: UiOutput };

export interface NodeDef<I extends InputsSpec = InputsSpec, O extends readonly OutputSpec[] = readonly OutputSpec[]> {
  /** ComfyUI class name (class_type). */
  name: string;
  displayName?: string;
  category: string;
  description?: string;
  inputs: I;
  outputs: O;
  outputNode?: boolean;
  /** The node's id is part of its cache key (ComfyUI's NOT_IDEMPOTENT). */
  notIdempotent?: boolean;
  deprecated?: boolean;
  experimental?: boolean;
  /** Absent while the node is declared but not implemented yet: validation refuses it. */
  run?: (inputs: InputValues<I>, ctx: NodeContext) => Promise<NodeResult<O>> | NodeResult<O>;
  /**
   * Folded into the cache key; called with literal inputs only. Return NaN to always re-run
   * (ComfyUI's IS_CHANGED), e.g. LoadImage returns the file's hash.
   */
  isChanged?: (inputs: Record<string, unknown>, ctx: IsChangedContext) => unknown;
  /**
   * Extra checks on literal inputs before anything runs; return true or a message.
   * Inputs listed in `validates` skip the built-in min/max/combo checks (as in ComfyUI).
   */
  validate?: (inputs: Record<string, unknown>, ctx: IsChangedContext) => true | string | Promise<true | string>;
  validates?: readonly string[];
}

export interface IsChangedContext {
  folders: import('./context.ts').Folders;
}

/** Declares a node; `const` type parameters keep literal socket types so `run` is typed from the schema. */
export function defineNode<const I extends InputsSpec, const O extends readonly OutputSpec[]>(def: NodeDef<I, O>): NodeDef<I, O> {
  return def;
}

export function allInputs(def: NodeDef): [string, InputSpec, 'required' | 'optional'][] {
  const out: [string, InputSpec, 'required' | 'optional'][] = [];
  for (const [k, v] of Object.entries(def.inputs.required ?? {})) out.push([k, v, 'required']);
  for (const [k, v] of Object.entries(def.inputs.optional ?? {})) out.push([k, v, 'optional']);
  return out;
}

export function isWidgetSpec(spec: InputSpec): boolean {
  if (spec.forceInput) return false;
  return spec.type === 'INT' || spec.type === 'FLOAT' || spec.type === 'STRING' || spec.type === 'BOOLEAN' || spec.type === 'COMBO';
}

/** ComfyUI's frontend adds a hidden control value after seed-like INT widgets and opted-in combos. */
export function hasControlAfterGenerate(name: string, spec: InputSpec): boolean {
  if (spec.type === 'INT') return (spec as IntSpec).control_after_generate ?? (name === 'seed' || name === 'noise_seed');
  if (spec.type === 'COMBO') return (spec as ComboSpec).control_after_generate === true;
  return false;
}
