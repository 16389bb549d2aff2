/**
 * A session host on the calling thread with a worker's message interface, for `ModelService({ inThread:
 * true })`. It exists to measure what the workers buy (test/engine/runtime/responsive.test.ts,
 * bench/responsiveness.ts) with everything else identical; a host with a UI must never use it, since every
 * create() and run() then stalls its event loop for the whole call.
 */
import { EventEmitter } from 'node:events';
import { createSessionHost } from './host.ts';
import type { WorkerRequest } from './protocol.ts';

/** The part of node:worker_threads' Worker the service uses; both hosts satisfy it. */
export interface SessionPort extends EventEmitter {
  postMessage(message: unknown, transfer?: readonly ArrayBuffer[]): void;
  terminate(): Promise<number>;
}

export class InlineHost extends EventEmitter implements SessionPort {
  private readonly host = createSessionHost();
  private closed = false;
  /** Requests run one at a time, as a worker's single thread would take them. */
  private queue: Promise<void> = Promise.resolve();

  postMessage(message: unknown): void {
    if (this.closed) throw new Error('the in-thread session host is closed');
    const req = message as WorkerRequest;
    // Answer on a later macrotask, like a port: callers register their reply handler before it fires.
    this.queue = this.queue.then(() => new Promise<void>((resolve) => setImmediate(() => {
      this.host.handle(req)
        .then(({ reply }) => { if (!this.closed) this.emit('message', reply); })
        .catch((e: unknown) => this.emit('error', e instanceof Error ? e : new Error(String(e))))
        .finally(resolve);
    })));
  }

  async terminate(): Promise<number> {
    if (!this.closed) {
      this.closed = true;
      await this.queue;
      // Frees the session if the caller did not send 'release' first (eviction always does).
      await this.host.handle({ op: 'release', id: 0 });
      this.emit('exit', 0);
    }
    return 0;
  }
}
