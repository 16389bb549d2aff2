/**
 * Minimap overlay (litegraph has none): node boxes and the viewport, redrawn a few times a second,
 * click to jump there. Reads the graph through the editor, never mutating it.
 */
import type { GraphEditor } from './editor.ts';
import { slotColor } from './slot-colors.ts';

const W = 200;
const H = 140;

export function createMinimap(editor: GraphEditor, host: HTMLElement): { destroy(): void; el: HTMLCanvasElement } {
  const el = document.createElement('canvas');
  el.className = 'minimap';
  el.width = W;
  el.height = H;
  host.appendChild(el);
  const ctx = el.getContext('2d')!;
  let map = { x0: 0, y0: 0, scale: 1 };

  const draw = () => {
    const nodes = editor.graph.nodes;
    const ds = editor.canvas.ds;
    const view = editor.canvas.canvas;
    const dpr = window.devicePixelRatio || 1;
    const vw = view.width / dpr / ds.scale;
    const vh = view.height / dpr / ds.scale;
    const vx = -ds.offset[0];
    const vy = -ds.offset[1];
    let [x0, y0, x1, y1] = [vx, vy, vx + vw, vy + vh];
    for (const n of nodes) {
      x0 = Math.min(x0, n.pos[0]);
      y0 = Math.min(y0, n.pos[1] - 30);
      x1 = Math.max(x1, n.pos[0] + n.size[0]);
      y1 = Math.max(y1, n.pos[1] + n.size[1]);
    }
    const scale = Math.min(W / (x1 - x0), H / (y1 - y0));
    map = { x0, y0, scale };
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = 'rgba(20, 20, 20, 0.85)';
    ctx.fillRect(0, 0, W, H);
    for (const n of nodes) {
      ctx.fillStyle = slotColor(String(n.outputs?.[0]?.type ?? '')) ?? '#777';
      ctx.fillRect((n.pos[0] - x0) * scale, (n.pos[1] - 30 - y0) * scale, Math.max(2, n.size[0] * scale), Math.max(2, (n.size[1] + 30) * scale));
    }
    ctx.strokeStyle = '#fff';
    ctx.strokeRect((vx - x0) * scale, (vy - y0) * scale, vw * scale, vh * scale);
  };

  const onClick = (e: MouseEvent) => {
    const r = el.getBoundingClientRect();
    const gx = map.x0 + (e.clientX - r.left) / map.scale;
    const gy = map.y0 + (e.clientY - r.top) / map.scale;
    const ds = editor.canvas.ds;
    const dpr = window.devicePixelRatio || 1;
    ds.offset = [editor.canvas.canvas.width / dpr / ds.scale / 2 - gx, editor.canvas.canvas.height / dpr / ds.scale / 2 - gy];
    editor.canvas.setDirty(true, true);
    draw();
  };
  el.addEventListener('click', onClick);
  const timer = setInterval(draw, 300);
  draw();
  return {
    el,
    destroy() {
      clearInterval(timer);
      el.removeEventListener('click', onClick);
      el.remove();
    },
  };
}
