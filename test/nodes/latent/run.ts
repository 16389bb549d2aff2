/** Calls a node's run() directly with a minimal NodeContext that records warnings. */
import type { NodeContext } from '../../../engine/graph/context.ts';
import type { NodeDef } from '../../../engine/graph/node.ts';

export function context(classType: string, warnings: string[] = []): NodeContext {
  return {
    nodeId: '1',
    classType,
    promptId: 'test',
    signal: new AbortController().signal,
    services: { folders: undefined as never },
    prompt: {},
    extraPngInfo: undefined,
    progress() {},
    checkAbort() {},
    warn(m) {
      warnings.push(m);
    },
  };
}

/** The outputs tuple of one node run. */
export async function runNode(def: NodeDef<any, any>, inputs: Record<string, unknown>, warnings: string[] = []): Promise<any[]> {
  if (!def.run) throw new Error(`${def.name} has no run()`);
  const res = await def.run(inputs as never, context(def.name, warnings));
  return Array.isArray(res) ? res : (res as { outputs: any[] }).outputs;
}
