import type { UiInput, UiNode, UiOutput, UiWorkflow } from '../../../engine/workflow/ui.ts';

/** Small builders for hand-written UI graphs; links are given as [id, from, fromSlot, to, toSlot, type]. */
export function inp(name: string, type: string, link: number | null = null, widget?: string): UiInput {
  const i: UiInput = { name, type, link };
  if (widget) i.widget = { name: widget };
  return i;
}

export function outp(name: string, type: string, links: number[] = []): UiOutput {
  return { name, type, links };
}

export function n(id: number, type: string, extra: Partial<UiNode> = {}): UiNode {
  return { id, type, pos: [0, 0], size: [200, 100], flags: {}, order: 0, mode: 0, properties: {}, ...extra };
}

export type L = [number, number, number, number, number, string];

/** Fills outputs[].links from the link list so the graph is consistent, as litegraph saves it. */
export function graph(nodes: UiNode[], links: L[], extra: Partial<UiWorkflow> = {}): UiWorkflow {
  for (const l of links) {
    const from = nodes.find((x) => x.id === l[1]);
    const out = from?.outputs?.[l[2]];
    if (out) (out.links ??= []).push(l[0]);
  }
  return { last_node_id: 0, last_link_id: 0, nodes, links, groups: [], config: {}, extra: {}, version: 0.4, ...extra };
}

export const ckpt = (id: number) =>
  n(id, 'CheckpointLoaderSimple', { outputs: [outp('MODEL', 'MODEL'), outp('CLIP', 'CLIP'), outp('VAE', 'VAE')], widgets_values: ['m.safetensors'] });

export const ksampler = (id: number, links: { model?: number; pos?: number; neg?: number; latent?: number }, wv: unknown[] | Record<string, unknown> = [7, 'fixed', 20, 8, 'euler', 'normal', 1], extraInputs: UiInput[] = []) =>
  n(id, 'KSampler', {
    inputs: [inp('model', 'MODEL', links.model ?? null), inp('positive', 'CONDITIONING', links.pos ?? null), inp('negative', 'CONDITIONING', links.neg ?? null), inp('latent_image', 'LATENT', links.latent ?? null), ...extraInputs],
    outputs: [outp('LATENT', 'LATENT')],
    widgets_values: wv,
  });

export const encode = (id: number, clipLink: number | null, text: string, extraInputs: UiInput[] = []) =>
  n(id, 'CLIPTextEncode', { inputs: [inp('clip', 'CLIP', clipLink), ...extraInputs], outputs: [outp('CONDITIONING', 'CONDITIONING')], widgets_values: [text] });

export const latent = (id: number) => n(id, 'EmptyLatentImage', { outputs: [outp('LATENT', 'LATENT')], widgets_values: [512, 512, 1] });
