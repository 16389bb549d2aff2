/**
 * Hands a patched WeightSource to the builders that still type their weights as SafetensorsFile (unet/,
 * controlnet/). At run time those builders only call members every WeightSource has (path, tensors,
 * metadata, has, get, keys, read*), and GraphBuilder.weight/shapeOf take any WeightSource, so this is a
 * typing bridge only. layers/, vae/, clip/{graph,spec,encode}.ts, clip-vision/ and esrgan/ already take a
 * WeightSource; the bridge goes once unet/ and controlnet/ do too.
 */
import type { SafetensorsFile } from '../../io/safetensors.ts';
import type { WeightSource } from '../../onnx/weights.ts';

export function asBuilderFile(src: WeightSource): SafetensorsFile {
  return src as unknown as SafetensorsFile;
}
