/**
 * Errors are values a user can act on: they carry the node id, class, input name and, where it
 * applies, the file or field. ComfyUI's error `type` strings are kept so clients understand them.
 */
export interface ErrorInfo {
  type?: string;
  nodeId?: string;
  classType?: string;
  input?: string;
  file?: string;
  details?: string;
  extra?: Record<string, unknown>;
}

export class WeftError extends Error {
  readonly type: string;
  readonly nodeId?: string;
  readonly classType?: string;
  readonly input?: string;
  readonly file?: string;
  readonly details?: string;
  readonly extra?: Record<string, unknown>;
  constructor(message: string, info: ErrorInfo = {}) {
    super(message);
    this.name = 'WeftError';
    this.type = info.type ?? 'weft_error';
    this.nodeId = info.nodeId;
    this.classType = info.classType;
    this.input = info.input;
    this.file = info.file;
    this.details = info.details;
    this.extra = info.extra;
  }
}

/** Thrown by ctx.checkAbort() when a run is interrupted; the executor reports execution_interrupted. */
export class InterruptedError extends Error {
  constructor() {
    super('Processing interrupted');
    this.name = 'InterruptedError';
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
