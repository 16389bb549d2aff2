/** The queue's records: items waiting or running, and the history entries finished ones become. */
import type { UiOutput } from '../graph/context.ts';
import type { ApiPrompt } from '../validate/prompt.ts';
import type { NodeMeta, RunResult, StatusMessage } from './executor.ts';

export interface QueueItem {
  number: number;
  prompt_id: string;
  prompt: ApiPrompt;
  extra_data: Record<string, unknown>;
  outputs: string[];
}

/** ComfyUI's queue tuple: [number, prompt_id, prompt, extra_data, outputs_to_execute]. */
export type QueueTuple = [number, string, ApiPrompt, Record<string, unknown>, string[]];

export interface HistoryEntry {
  prompt: QueueTuple;
  outputs: Record<string, UiOutput>;
  status: { status_str: 'success' | 'error'; completed: boolean; messages: StatusMessage[] };
  meta: Record<string, NodeMeta>;
}

export function tuple(i: QueueItem): QueueTuple {
  return [i.number, i.prompt_id, i.prompt, i.extra_data, i.outputs];
}

export function historyEntry(item: QueueItem, run: RunResult): HistoryEntry {
  return {
    prompt: tuple(item),
    outputs: run.outputs,
    status: { status_str: run.status === 'success' ? 'success' : 'error', completed: run.status === 'success', messages: run.messages },
    meta: run.meta,
  };
}

/** The RunResult of a prompt that never finished normally (the executor threw, or the process died). */
export function crashed(promptId: string, message: string): RunResult {
  const error = {
    prompt_id: promptId,
    node_id: '',
    node_type: '',
    executed: [],
    exception_message: message,
    exception_type: 'Error',
    traceback: [],
    current_inputs: {},
    current_outputs: [],
    timestamp: Date.now(),
  };
  return { status: 'error', outputs: {}, meta: {}, messages: [['execution_error', error as unknown as Record<string, unknown>]], executed: [], cached: [], error };
}
