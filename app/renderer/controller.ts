/**
 * Wires the store, the graph editor, the server API and the WebSocket together and owns the app's
 * commands (queue, save, open, undo, …). Panels and key handlers only call commands by id.
 */
import { uiToApi } from '../../engine/workflow/convert.ts';
import { apiToUi } from '../../engine/workflow/to-ui.ts';
import type { UiWorkflow } from '../../engine/workflow/ui.ts';
import type { NodeRegistry } from '../../engine/graph/registry.ts';
import type { ElectronApi } from '../shared/ipc.ts';
import type { NodeErrors, WsMessage } from '../shared/wire.ts';
import { ApiError, type Api } from './api.ts';
import { demoSwitches, historyFromServer, mergeHistory, usesDemo } from './first-run.ts';
import type { GraphEditor } from './graph/editor.ts';
import type { AppStore } from './store.ts';
import { readWorkflowFile } from './workflow-file.ts';
import type { PreviewFrame } from './ws-frames.ts';

const SAVED_KEY = 'weft.workflow';

export class Controller {
  private last = '';
  private queuedNodes = new Map<string, number>();
  /** The UI workflow of each prompt queued from this window, for the history panel's Load. */
  private queuedWorkflows = new Map<string, UiWorkflow>();
  /** Checkpoint files the server lists (GET /models/checkpoints), for the first-run demo switch. */
  checkpoints: string[] = [];

  constructor(
    readonly store: AppStore,
    readonly api: Api,
    readonly editor: GraphEditor,
    readonly registry: NodeRegistry,
    readonly clientId: string,
    readonly desktop: ElectronApi | undefined,
  ) {}

  /** Restores the last session's graph, else ComfyUI's default workflow. */
  start(fallback: UiWorkflow): void {
    let wf = fallback;
    try {
      const saved = localStorage.getItem(SAVED_KEY);
      if (saved) wf = JSON.parse(saved) as UiWorkflow;
    } catch {
      /* a corrupt saved graph must not stop the app from starting */
    }
    this.load(wf, 'Unsaved workflow');
  }

  load(wf: UiWorkflow, name: string): void {
    const missing = this.editor.loadWorkflow(wf);
    // First run: the workflow's checkpoint is missing and the server's demo is all there is.
    for (const sw of demoSwitches(this.editor.widgetsNamed('ckpt_name'), this.checkpoints)) this.editor.setWidgetValue(sw.nodeId, 'ckpt_name', sw.to);
    this.updateDemoBadge();
    this.store.getState().clearErrors();
    if (missing.length) this.store.getState().setMessage(`Missing node types: ${missing.join(', ')}`);
    this.store.getState().setWorkflowName(name);
    this.store.getState().resetUndo();
    this.last = this.editor.snapshot();
    this.persist();
  }

  /** Called after every pointer/key release: a changed graph becomes an undo step. */
  maybeChanged(): void {
    const cur = this.editor.snapshot();
    if (cur === this.last) return;
    this.store.getState().record(this.last);
    this.last = cur;
    this.store.getState().setDirty(true);
    this.updateDemoBadge();
    this.persist();
  }

  private updateDemoBadge(): void {
    const on = usesDemo(this.editor.widgetsNamed('ckpt_name'));
    if (this.store.getState().demoModel !== on) this.store.getState().setDemoModel(on);
  }

  /** Adds the server's history (this and earlier sessions) to the panel. */
  async refreshHistory(): Promise<void> {
    const server = historyFromServer(await this.api.history());
    const s = this.store.getState();
    s.setHistory(mergeHistory(s.history, server));
  }

  loadHistory(promptId: string): void {
    const h = this.store.getState().history.find((x) => x.promptId === promptId);
    if (!h) return;
    const name = `history ${promptId.slice(0, 8)}`;
    try {
      if (h.workflow) this.load(h.workflow as UiWorkflow, name);
      else if (h.prompt) this.load(apiToUi(h.prompt as Parameters<typeof apiToUi>[0], this.registry), name);
    } catch (e) {
      this.store.getState().setMessage(e instanceof Error ? e.message : String(e));
    }
  }

  private persist(): void {
    try {
      localStorage.setItem(SAVED_KEY, JSON.stringify(this.editor.serialize()));
    } catch {
      /* storage full or disabled: the session still works */
    }
  }

  undo(): void {
    const prev = this.store.getState().undo(this.editor.snapshot());
    if (prev === null) return;
    this.editor.restore(prev);
    // Re-read rather than reuse `prev`: configure() normalizes some fields, and a spurious diff
    // would be recorded as a new edit and wipe the redo stack.
    this.last = this.editor.snapshot();
    this.updateDemoBadge();
    this.persist();
  }

  redo(): void {
    const next = this.store.getState().redo(this.editor.snapshot());
    if (next === null) return;
    this.editor.restore(next);
    this.last = this.editor.snapshot();
    this.updateDemoBadge();
    this.persist();
  }

  async queue(): Promise<void> {
    const s = this.store.getState();
    s.clearErrors();
    this.editor.highlightErrors({});
    const workflow = this.editor.serialize();
    let prompt;
    try {
      prompt = uiToApi(workflow, this.registry);
    } catch (e) {
      s.setMessage(e instanceof Error ? e.message : String(e));
      return;
    }
    try {
      const res = await this.api.queuePrompt(prompt, this.clientId, workflow, s.settings.previewMethod);
      this.queuedNodes.set(res.prompt_id, Object.keys(prompt).length);
      this.queuedWorkflows.set(res.prompt_id, workflow);
      s.setNodesTotal(res.prompt_id, Object.keys(prompt).length);
      s.setQueue([...s.queue, { promptId: res.prompt_id, number: res.number, status: 'pending' }]);
      this.editor.applyControlAfterGenerate();
      this.maybeChanged();
    } catch (e) {
      const body = e instanceof ApiError ? (e.body as { node_errors?: NodeErrors; error?: { message?: string } }) : null;
      const nodeErrors = body?.node_errors ?? {};
      s.setNodeErrors(nodeErrors, body?.error?.message ?? (e instanceof Error ? e.message : String(e)));
      this.editor.highlightErrors(nodeErrors);
    }
  }

  async interrupt(): Promise<void> {
    await this.api.interrupt();
  }

  onWs(msg: WsMessage): void {
    const s = this.store.getState();
    switch (msg.type) {
      case 'status':
        s.setQueueRemaining(msg.data.status.exec_info.queue_remaining);
        break;
      case 'execution_start':
        s.executionStart(msg.data.prompt_id, this.queuedNodes.get(msg.data.prompt_id) ?? 0);
        s.setQueue(s.queue.map((q) => (q.promptId === msg.data.prompt_id ? { ...q, status: 'running' as const } : q)));
        break;
      case 'executing':
        if (msg.data.node === null) {
          this.done(msg.data.prompt_id, 'success');
          break;
        }
        s.executing(msg.data.prompt_id, msg.data.node);
        this.editor.setProgress(msg.data.node, 0);
        break;
      case 'progress':
        s.setProgress(msg.data.node, msg.data.value, msg.data.max);
        this.editor.setProgress(msg.data.node, msg.data.max > 0 ? msg.data.value / msg.data.max : 0);
        break;
      case 'executed': {
        const images = msg.data.output.images ?? [];
        s.executed(msg.data.node, images);
        this.editor.showImages(msg.data.node, images.map((r) => this.api.viewUrl(r)));
        break;
      }
      case 'execution_error':
        s.setExecutionError({
          promptId: msg.data.prompt_id,
          nodeId: msg.data.node_id,
          nodeType: msg.data.node_type,
          message: msg.data.exception_message,
        });
        this.editor.highlightErrors({}, msg.data.node_id);
        this.done(msg.data.prompt_id, 'error');
        break;
      case 'execution_interrupted':
        this.done(msg.data.prompt_id, 'interrupted');
        break;
    }
  }

  private done(promptId: string, status: 'success' | 'error' | 'interrupted'): void {
    const s = this.store.getState();
    if (!s.queue.some((q) => q.promptId === promptId) && s.history.some((h) => h.promptId === promptId)) return;
    s.finish(promptId, status, this.queuedWorkflows.get(promptId));
    s.setQueue(s.queue.filter((q) => q.promptId !== promptId));
    this.editor.setProgress(null);
    this.queuedNodes.delete(promptId);
    this.queuedWorkflows.delete(promptId);
  }

  onPreview(frame: PreviewFrame): void {
    const s = this.store.getState();
    const old = s.preview;
    const url = URL.createObjectURL(new Blob([frame.bytes as BlobPart], { type: frame.mime }));
    s.setPreview(url);
    const node = frame.nodeId ?? s.progress.node;
    if (node) this.editor.showImages(node, [url]);
    if (old) setTimeout(() => URL.revokeObjectURL(old), 1000);
  }

  /** A dropped or opened file: JSON workflow, API prompt, or a PNG carrying either. */
  async loadFile(name: string, bytes: Uint8Array): Promise<void> {
    try {
      const loaded = await readWorkflowFile(name, bytes);
      const wf = loaded.kind === 'ui' ? loaded.workflow : apiToUi(loaded.prompt, this.registry);
      this.load(wf, name.replace(/\.(json|png)$/i, ''));
    } catch (e) {
      this.store.getState().setMessage(e instanceof Error ? e.message : String(e));
    }
  }

  async save(): Promise<void> {
    const name = this.store.getState().workflowName || 'workflow';
    const text = JSON.stringify(this.editor.serialize(), null, 2);
    if (this.desktop) {
      const path = await this.desktop.invoke('dialog:save-workflow', `${name}.json`, text);
      if (path) this.store.getState().setWorkflowName(path.split(/[\\/]/).pop()!.replace(/\.json$/i, ''));
      return;
    }
    download(`${name}.json`, text);
    this.store.getState().setDirty(false);
  }

  exportApi(): void {
    try {
      download(`${this.store.getState().workflowName}_api.json`, JSON.stringify(uiToApi(this.editor.serialize(), this.registry), null, 2));
    } catch (e) {
      this.store.getState().setMessage(e instanceof Error ? e.message : String(e));
    }
  }

  async open(): Promise<void> {
    if (this.desktop) {
      const file = await this.desktop.invoke('dialog:open-workflow');
      if (file) await this.loadFile(file.name, file.data);
      return;
    }
    const input = document.createElement('input');
    input.type = 'file';
    input.accept = '.json,.png,application/json,image/png';
    input.onchange = async () => {
      const f = input.files?.[0];
      if (f) await this.loadFile(f.name, new Uint8Array(await f.arrayBuffer()));
    };
    input.click();
  }
}

function download(name: string, text: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
