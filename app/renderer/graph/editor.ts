/**
 * The one adapter over @comfyorg/litegraph: everything else in the renderer talks to this interface
 * (load/save UI workflows through litegraph's configure/serialize, node state for progress, outputs
 * and errors, modes, groups, clipboard), so litegraph's 8k-line canvas never leaks further.
 */
import { LGraph, LGraphCanvas, LGraphEventMode, LGraphGroup, LiteGraph, type LGraphNode } from '@comfyorg/litegraph';
import type { NodeDef } from '../../../engine/graph/node.ts';
import type { UiWorkflow } from '../../../engine/workflow/ui.ts';
import type { NodeErrors } from '../../shared/wire.ts';
import { nextSeed } from '../seed-control.ts';
import { setNodeImages, type IBaseWidget, type WeftNode } from './node-images.ts';
import { registerNodeTypes, type NodeTypeHooks } from './node-types.ts';

export interface EditorOptions extends NodeTypeHooks {
  canvas: HTMLCanvasElement;
  defs: readonly NodeDef[];
  /** Double-click on empty canvas: open the node search at these client/graph coordinates. */
  openSearch(client: [number, number], graphPos: [number, number]): void;
  /** The graph may have changed (pointer or key released); the caller diffs snapshots for undo. */
  onMaybeChanged(): void;
}

export type LinkStyle = 'spline' | 'linear' | 'straight';
const LINK_MODES: Record<LinkStyle, number> = { straight: 0, linear: 1, spline: 2 };
const ERROR_COLOR = '#ff4444';

export class GraphEditor {
  readonly graph: LGraph;
  readonly canvas: LGraphCanvas;
  private readonly el: HTMLCanvasElement;
  private errorNodes = new Set<string>();

  constructor(opts: EditorOptions) {
    this.el = opts.canvas;
    registerNodeTypes(opts.defs, opts);
    this.graph = new LGraph();
    this.canvas = new LGraphCanvas(opts.canvas, this.graph);
    this.canvas.show_info = false;
    this.canvas.render_canvas_border = false;
    this.canvas.allow_searchbox = true;
    // Our own search (fuzzy over display name + category) replaces litegraph's box.
    this.canvas.showSearchBox = ((e: MouseEvent) => {
      const [gx, gy] = this.canvas.convertEventToCanvasOffset(e);
      opts.openSearch([e.clientX, e.clientY], [gx, gy]);
      return document.createElement('div');
    }) as LGraphCanvas['showSearchBox'];
    // litegraph's key handling listens on the canvas element, so a click must give it focus.
    opts.canvas.addEventListener('pointerdown', () => opts.canvas.focus());
    const maybe = () => queueMicrotask(() => opts.onMaybeChanged());
    document.addEventListener('pointerup', maybe, true);
    document.addEventListener('keyup', maybe, true);
    const origDraw = this.canvas.onDrawForeground;
    this.canvas.onDrawForeground = (ctx: CanvasRenderingContext2D, area: unknown) => {
      origDraw?.(ctx, area);
      this.drawModeOverlays(ctx);
    };
    this.resize();
    new ResizeObserver(() => this.resize()).observe(opts.canvas.parentElement ?? opts.canvas);
  }

  resize(): void {
    const parent = this.el.parentElement;
    if (!parent) return;
    this.canvas.resize(parent.clientWidth, parent.clientHeight);
    this.canvas.setDirty(true, true);
  }

  /** Replaces the graph; returns the node types the registry does not know. */
  loadWorkflow(wf: UiWorkflow): string[] {
    const missing = [...new Set((wf.nodes ?? []).map((n) => String(n.type)).filter((t) => !LiteGraph.registered_node_types[t]))];
    this.graph.clear();
    this.graph.configure(structuredClone(wf) as unknown as Parameters<LGraph['configure']>[0]);
    const ds = (wf.extra as { ds?: { scale?: number; offset?: [number, number] } } | undefined)?.ds;
    if (ds?.offset && typeof ds.scale === 'number') {
      this.canvas.ds.scale = ds.scale;
      this.canvas.ds.offset = [ds.offset[0], ds.offset[1]];
    } else this.fitView();
    this.errorNodes.clear();
    this.canvas.setDirty(true, true);
    return missing;
  }

  serialize(): UiWorkflow {
    const wf = this.graph.serialize() as unknown as UiWorkflow;
    wf.extra = { ...(wf.extra ?? {}), ds: { scale: this.canvas.ds.scale, offset: [...this.canvas.ds.offset] } };
    return wf;
  }

  /**
   * The graph for undo, without what is not an edit: the viewport, and node order (clicking a node
   * brings it to the front, which reorders litegraph's list).
   */
  snapshot(): string {
    const wf = this.graph.serialize() as unknown as UiWorkflow;
    if (wf.extra) delete (wf.extra as Record<string, unknown>).ds;
    wf.nodes = [...(wf.nodes ?? [])].sort((a, b) => Number(a.id) - Number(b.id) || String(a.id).localeCompare(String(b.id)));
    return JSON.stringify(wf);
  }

  restore(snapshot: string): void {
    const { scale, offset } = this.canvas.ds;
    this.graph.clear();
    this.graph.configure(JSON.parse(snapshot));
    this.canvas.ds.scale = scale;
    this.canvas.ds.offset = offset;
    this.canvas.setDirty(true, true);
  }

  get nodeCount(): number {
    return this.graph.nodes.length;
  }

  node(id: string | number): WeftNode | null {
    return this.graph.getNodeById(typeof id === 'string' && /^\d+$/.test(id) ? Number(id) : id) as WeftNode | null;
  }

  addNode(type: string, pos: [number, number]): LGraphNode | null {
    const node = LiteGraph.createNode(type);
    if (!node) return null;
    node.pos = [pos[0], pos[1]];
    this.graph.add(node);
    this.canvas.selectItems([node]);
    this.canvas.setDirty(true, true);
    return node;
  }

  private selectedNodes(): LGraphNode[] {
    return Object.values(this.canvas.selected_nodes ?? {});
  }

  /** Ctrl+B / Ctrl+M: toggles bypass or mute on the selection (all on unless all already are). */
  toggleMode(mode: 'bypass' | 'mute'): void {
    const target = mode === 'bypass' ? LGraphEventMode.BYPASS : LGraphEventMode.NEVER;
    const nodes = this.selectedNodes();
    const allOn = nodes.length > 0 && nodes.every((n) => n.mode === target);
    for (const n of nodes) n.mode = allOn ? LGraphEventMode.ALWAYS : target;
    this.canvas.setDirty(true, true);
  }

  /** Ctrl+G: a titled group around the selection. */
  groupSelected(): void {
    const nodes = this.selectedNodes();
    if (nodes.length === 0) return;
    const group = new LGraphGroup('Group');
    this.graph.add(group);
    group.resizeTo(nodes, 10);
    this.canvas.setDirty(true, true);
  }

  copy(): void {
    this.canvas.copyToClipboard();
  }

  paste(): void {
    this.canvas.pasteFromClipboard({ connectInputs: false });
  }

  deleteSelected(): void {
    this.canvas.deleteSelected();
  }

  selectAll(): void {
    this.canvas.selectItems();
  }

  fitView(): void {
    const nodes = this.graph.nodes;
    if (nodes.length === 0) return;
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const n of nodes) {
      x0 = Math.min(x0, n.pos[0]);
      y0 = Math.min(y0, n.pos[1] - 30);
      x1 = Math.max(x1, n.pos[0] + n.size[0]);
      y1 = Math.max(y1, n.pos[1] + n.size[1]);
    }
    const w = this.el.width / (window.devicePixelRatio || 1);
    const h = this.el.height / (window.devicePixelRatio || 1);
    const scale = Math.min(1.2, Math.max(0.2, Math.min(w / (x1 - x0 + 80), h / (y1 - y0 + 80))));
    this.canvas.ds.scale = scale;
    this.canvas.ds.offset = [w / 2 / scale - (x0 + x1) / 2, h / 2 / scale - (y0 + y1) / 2];
    this.canvas.setDirty(true, true);
  }

  setLinkStyle(style: LinkStyle): void {
    this.canvas.links_render_mode = LINK_MODES[style];
    this.canvas.setDirty(true, true);
  }

  /** Highlights the executing node and draws its progress bar (ComfyUI's look). */
  setProgress(nodeId: string | null, fraction?: number): void {
    for (const n of this.graph.nodes) {
      if (String(n.id) === nodeId) n.progress = fraction ?? 0;
      else delete n.progress;
    }
    this.canvas.setDirty(true, false);
  }

  showImages(nodeId: string, urls: string[]): void {
    const node = this.node(nodeId);
    if (node) setNodeImages(node, urls, () => this.canvas.setDirty(true, false));
  }

  /** Red outline on nodes named by node_errors / execution_error; cleared by an empty call. */
  highlightErrors(nodeErrors: NodeErrors, failedNode?: string | null): void {
    for (const id of this.errorNodes) {
      const n = this.node(id);
      if (n) n.boxcolor = undefined;
    }
    this.errorNodes = new Set([...Object.keys(nodeErrors), ...(failedNode ? [failedNode] : [])]);
    for (const id of this.errorNodes) {
      const n = this.node(id);
      if (n) n.boxcolor = ERROR_COLOR;
    }
    this.canvas.setDirty(true, false);
  }

  hasErrorOutline(id: string): boolean {
    return this.node(id)?.boxcolor === ERROR_COLOR;
  }

  /** After a prompt is queued: seed-like widgets move on according to their control widget. */
  applyControlAfterGenerate(): void {
    for (const n of this.graph.nodes) {
      const ws = n.widgets ?? [];
      ws.forEach((w: IBaseWidget, i: number) => {
        if (w.name !== 'control_after_generate' || i === 0) return;
        const target = ws[i - 1];
        if (target.type !== 'number') return;
        const o = target.options as { min?: number; max?: number };
        target.value = nextSeed(Number(target.value), w.value, { min: o.min, max: o.max });
      });
    }
    this.canvas.setDirty(true, false);
  }

  /** Every widget called `name` (e.g. ckpt_name) with its node, for first-run checks. */
  widgetsNamed(name: string): { nodeId: string; value: unknown }[] {
    return this.graph.nodes.flatMap((n: LGraphNode) => (n.widgets ?? []).filter((w: IBaseWidget) => w.name === name).map((w: IBaseWidget) => ({ nodeId: String(n.id), value: w.value })));
  }

  setWidgetValue(nodeId: string, name: string, value: unknown): void {
    const w = this.node(nodeId)?.widgets?.find((x: IBaseWidget) => x.name === name);
    if (!w) return;
    w.value = value as IBaseWidget['value'];
    this.canvas.setDirty(true, false);
  }

  /** New files in a model folder (a finished download) become choices of the open graph's combos. */
  setComboValues(name: string, values: string[]): void {
    for (const n of this.graph.nodes) for (const w of n.widgets ?? []) if (w.name === name && w.type === 'combo') (w.options as { values?: string[] }).values = [...values];
  }

  centerOn(nodeId: string): void {
    const n = this.node(nodeId);
    if (n) this.canvas.centerOnNode(n);
  }

  /** Bypassed nodes get a purple wash and muted ones a grey one, so their mode shows at a glance. */
  private drawModeOverlays(ctx: CanvasRenderingContext2D): void {
    for (const n of this.graph.nodes) {
      if (n.mode !== LGraphEventMode.BYPASS && n.mode !== LGraphEventMode.NEVER) continue;
      ctx.save();
      ctx.fillStyle = n.mode === LGraphEventMode.BYPASS ? 'rgba(200, 0, 200, 0.28)' : 'rgba(30, 30, 30, 0.55)';
      const title = n.flags?.collapsed ? 0 : LiteGraph.NODE_TITLE_HEIGHT;
      ctx.fillRect(n.pos[0], n.pos[1] - title, n.size[0], n.size[1] + title);
      ctx.restore();
    }
  }
}
