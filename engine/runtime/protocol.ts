/** Messages between ModelService and its session workers. */
import type { EpAttempt } from './providers.ts';
import type { WireFeeds } from './wire.ts';

export interface SessionSettings {
  /** Folder the graph's external-data locations are relative to (ORT's initializers folder path). */
  weightsDir: string;
  threads: number;
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Faster session creation (0.7 s vs 5 s for the SD1.5 UNet) for ~10–25% slower steps. */
  disablePrepacking?: boolean;
}

export type WorkerRequest =
  // The service sends one candidate per load, with that provider's graph variant (see service.ts start()).
  | { op: 'load'; id: number; graph: Uint8Array; candidates: string[]; skipped: EpAttempt[]; settings: SessionSettings }
  | { op: 'run'; id: number; feeds: WireFeeds }
  | { op: 'release'; id: number };

export type WorkerReply =
  | { id: number; ok: true; ep: string; attempts: EpAttempt[]; inputNames: string[]; outputNames: string[] }
  | { id: number; ok: true; outputs: WireFeeds }
  | { id: number; ok: true }
  | { id: number; ok: false; error: string; attempts?: EpAttempt[] };
