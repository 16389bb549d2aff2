/** Output images drawn inside a node (PreviewImage/SaveImage results, LoadImage's picked file). */
import type { LGraphNode } from '@comfyorg/litegraph';

export type IBaseWidget = NonNullable<LGraphNode['widgets']>[number];

// An intersection, not `interface extends`: under the root tsconfig litegraph's types resolve to
// `any`, and an intersection then stays `any` instead of becoming an empty type.
export type WeftNode = LGraphNode & {
  weftImages?: HTMLImageElement[];
  uploadTarget?: IBaseWidget;
};

const PAD = 6;

/** Where images go: below the last widget, or below the slots when the node has no widgets. */
function imageTop(node: WeftNode): number {
  const widgets = node.widgets ?? [];
  const last = widgets.at(-1) as (IBaseWidget & { last_y?: number; y?: number }) | undefined;
  if (last && typeof last.last_y === 'number') return last.last_y + 24 + PAD;
  const slots = Math.max(node.inputs?.length ?? 0, node.outputs?.length ?? 0);
  return slots * 20 + PAD;
}

export function drawNodeImages(node: WeftNode, ctx: CanvasRenderingContext2D): void {
  const imgs = (node.weftImages ?? []).filter((i: HTMLImageElement) => i.complete && i.naturalWidth > 0);
  if (imgs.length === 0 || node.flags?.collapsed) return;
  const top = imageTop(node);
  const w = node.size[0] - PAD * 2;
  const h = node.size[1] - top - PAD;
  if (w <= 10 || h <= 10) return;
  // A grid for batches: as many columns as keep cells closest to square.
  const cols = Math.ceil(Math.sqrt(imgs.length));
  const rows = Math.ceil(imgs.length / cols);
  const cw = w / cols;
  const ch = h / rows;
  imgs.forEach((img: HTMLImageElement, i: number) => {
    const scale = Math.min(cw / img.naturalWidth, ch / img.naturalHeight);
    const dw = img.naturalWidth * scale;
    const dh = img.naturalHeight * scale;
    const x = PAD + (i % cols) * cw + (cw - dw) / 2;
    const y = top + Math.floor(i / cols) * ch + (ch - dh) / 2;
    ctx.drawImage(img, x, y, dw, dh);
  });
}

/** Shows `urls` on the node, growing it so a first image is visible at a useful size. */
export function setNodeImages(node: WeftNode, urls: string[], redraw: () => void): void {
  node.weftImages = urls.map((url) => {
    const img = new Image();
    img.onload = () => {
      const top = imageTop(node);
      if (node.size[1] < top + 200) node.setSize([Math.max(node.size[0], 256), top + 256]);
      redraw();
    };
    img.src = url;
    return img;
  });
  redraw();
}
