/**
 * Synthetic LDM ControlNet checkpoints (`control_model.*`: the UNet encoder copy, input_hint_block,
 * zero_convs, middle_block_out) with deterministic random weights, for tests.
 */
import { writeSafetensors, type TensorToWrite } from '../../io/safetensors.ts';
import { parseUNetConfig } from '../unet/config.ts';
import { syntheticValues, unetParams, type ParamSpec, type SyntheticUNetSpec } from '../unet/synthetic.ts';

export function controlNetParams(s: SyntheticUNetSpec, hintChannels = 3): ParamSpec[] {
  const p = s.prefix ?? 'control_model.';
  const enc = unetParams({ ...s, prefix: p }).filter((t) => !t.name.startsWith(`${p}output_blocks.`) && !t.name.startsWith(`${p}out.`));
  const out: ParamSpec[] = [...enc];
  const wb = (k: string, shape: number[]): void => void out.push({ name: `${p}${k}.weight`, shape }, { name: `${p}${k}.bias`, shape: [shape[0]!] });
  const hint: Array<[number, number]> = [[hintChannels, 16], [16, 16], [16, 32], [32, 32], [32, 96], [96, 96], [96, 256], [256, s.modelChannels]];
  hint.forEach(([cin, cout], i) => wb(`input_hint_block.${2 * i}`, [cout, cin, 3, 3]));
  const cfg = parseUNetConfig({ tensors: new Map(enc.map((t) => [t.name, { shape: t.shape }])) }, { prefix: p, encoderOnly: true, numHeads: 1 });
  cfg.skips.forEach((sk, i) => wb(`zero_convs.${i}.0`, [sk.ch, sk.ch, 1, 1]));
  wb('middle_block_out.0', [cfg.middleChannels, cfg.middleChannels, 1, 1]);
  return out;
}

export function writeSyntheticControlNet(path: string, s: SyntheticUNetSpec, opts: { seed?: number; hintChannels?: number } = {}): ParamSpec[] {
  const params = controlNetParams(s, opts.hintChannels);
  const tensors: Record<string, TensorToWrite> = {};
  for (const p of params) tensors[p.name] = { dtype: 'F32', shape: p.shape, data: syntheticValues(p, opts.seed ?? 2) };
  writeSafetensors(path, tensors);
  return params;
}
