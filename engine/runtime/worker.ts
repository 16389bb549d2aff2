/**
 * One ORT session per worker thread: create() and run() are synchronous inside the binding and
 * would freeze the host's event loop for seconds (research/onnx.md §4). Messages carry tensors as
 * transferred buffers. This file is the worker entry; it is never imported by the main thread.
 */
import { parentPort } from 'node:worker_threads';
import { createSessionHost } from './host.ts';
import type { WorkerRequest } from './protocol.ts';

if (!parentPort) throw new Error('engine/runtime/worker.ts must run in a worker thread');
const port = parentPort;
const host = createSessionHost();

port.on('message', (req: WorkerRequest) => {
  void host.handle(req).then(({ reply, transfer }) => port.postMessage(reply, transfer));
});
