/**
 * Hands a patched WeightSource to the UNet / CLIP code that still types its weights as SafetensorsFile.
 * At run time those builders only call members every WeightSource has (path, tensors, metadata, has, get,
 * keys, read*), and GraphBuilder.weight/shapeOf take any WeightSource, so this is a typing bridge only.
 * It goes once `file: SafetensorsFile` becomes `file: WeightSource` in unet/, clip/ and layers/.
 */
import type { SafetensorsFile } from '../../io/safetensors.ts';
import type { WeightSource } from '../../onnx/weights.ts';

export function asBuilderFile(src: WeightSource): SafetensorsFile {
  return src as unknown as SafetensorsFile;
}
