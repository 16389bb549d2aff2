import type { UiOutput } from './node.ts';

/** Model-folder and input/output-folder access, resolved safely (no path escapes). */
export interface Folders {
  /** Files under models/<folder> (ComfyUI folder names, extra_model_paths included), relative, '/'-separated. */
  listModels(folder: string): string[];
  /** Absolute path of a model file; throws a WeftError listing close matches when it is missing. */
  resolveModel(folder: string, name: string): string;
  readonly inputDir: string;
  readonly outputDir: string;
  readonly tempDir: string;
  listInput(): string[];
  /** Absolute path of a file in the input folder (annotated names like "x.png [output]" allowed). */
  resolveInput(name: string): string;
}

/** Services a node may use. Runtime modules add theirs by declaration merging. */
export interface EngineServices {
  folders: Folders;
}

export interface PreviewImage {
  /** 'JPEG' | 'PNG' encoded bytes, or raw RGB to be encoded by the observer. */
  format: 'JPEG' | 'PNG';
  data: Uint8Array;
}

export interface NodeContext {
  readonly nodeId: string;
  readonly classType: string;
  readonly promptId: string;
  readonly signal: AbortSignal;
  readonly services: EngineServices;
  /** The API prompt and the extra PNG info (workflow) — ComfyUI's hidden PROMPT / EXTRA_PNGINFO. */
  readonly prompt: Record<string, unknown>;
  readonly extraPngInfo: Record<string, unknown> | undefined;
  /** False when the prompt asked for no previews (preview_method "none"): nodes can skip making them. */
  readonly previews?: boolean;
  /** Report progress (value of max); a preview image is optional. Throws if interrupted. */
  progress(value: number, max: number, preview?: PreviewImage): void;
  /** Throws InterruptedError when the run was interrupted. Samplers call this every step. */
  checkAbort(): void;
  /** A message shown to the user without failing the node (e.g. missing embedding). */
  warn(message: string): void;
}

export type { UiOutput };
