/**
 * Weight sources that show a diffusers component file under LDM names, so every builder (UNet, VAE,
 * detection, LoRA key maps) reads a diffusers folder unchanged. Nothing is copied or converted: each LDM
 * name points at the diffusers tensor's own byte range in the user's file, and ORT maps those bytes as it
 * maps a single-file checkpoint. Where LDM stores a tensor with another shape of the same element order
 * (the VAE's 1×1-conv attention), the view reports the LDM shape over the same bytes.
 */
import { WeftError } from '../../errors.ts';
import { SafetensorsFile, type SafetensorsTensor } from '../../io/safetensors.ts';
import type { TensorLocation, WeightSource } from '../../onnx/weights.ts';
import { keyRenamer, layoutFromDiffusers, modulePairs } from './unet-keys.ts';
import { ldmVaeKey, vaeLdmShape, vaeUpLevels } from './vae-keys.ts';

/** A weight source that can be closed (it holds the component file open for reads). */
export interface ClosableSource extends WeightSource {
  close(): void;
}

/** A diffusers file seen through a rename: LDM key → the file's key (+ the LDM shape). */
export class RenamedSource implements ClosableSource {
  readonly tensors = new Map<string, SafetensorsTensor>();
  private readonly origin = new Map<string, string>();

  /**
   * `rename` gives the LDM name of a file key (null: not part of the model); `shape` the LDM shape.
   * `unmapped` collects the file keys nothing claimed, for the loader to report.
   */
  constructor(readonly file: SafetensorsFile, rename: (key: string) => string | null, shape: (ldmKey: string, s: readonly number[]) => number[] = (_k, s) => [...s], readonly unmapped: string[] = []) {
    for (const [key, t] of file.tensors) {
      const ldm = rename(key);
      if (ldm === null) { unmapped.push(key); continue; }
      if (this.tensors.has(ldm)) {
        throw new WeftError(`${file.path}: "${key}" and "${this.origin.get(ldm)}" both map to "${ldm}" (mixed current and legacy names?)`, { file: file.path, input: key, type: 'invalid_model_file' });
      }
      const s = shape(ldm, t.shape);
      if (s.reduce((a, b) => a * b, 1) !== t.shape.reduce((a, b) => a * b, 1)) {
        throw new WeftError(`${file.path}: "${key}" [${t.shape.join(', ')}] cannot be read as [${s.join(', ')}]`, { file: file.path, input: key, type: 'invalid_model_file' });
      }
      this.tensors.set(ldm, { ...t, name: ldm, shape: s });
      this.origin.set(ldm, key);
    }
  }

  get path(): string { return this.file.path; }
  get metadata(): Record<string, string> { return this.file.metadata; }
  has(key: string): boolean { return this.tensors.has(key); }
  keys(): string[] { return [...this.tensors.keys()]; }
  get(key: string): SafetensorsTensor {
    const t = this.tensors.get(key);
    if (!t) throw new WeftError(`${this.path}: no tensor maps to "${key}" (diffusers file read under LDM names)`, { file: this.path, input: key, type: 'invalid_model_file' });
    return t;
  }
  /** The diffusers name behind an LDM name (for messages and tests). */
  fileKey(key: string): string { this.get(key); return this.origin.get(key)!; }
  readRaw(key: string): Buffer { return this.file.readRaw(this.fileKey(key)); }
  /** Values are in element order, which the LDM shape shares. */
  readFloat32(key: string): Float32Array { return this.file.readFloat32(this.fileKey(key)); }
  locate(key: string): TensorLocation { return { path: this.file.path, tensor: this.get(key) }; }
  close(): void { this.file.close(); }
}

function openFile(file: SafetensorsFile | string): SafetensorsFile {
  return typeof file === 'string' ? SafetensorsFile.open(file) : file;
}

/** Builds a source over `f`, closing `f` when that fails (the caller never got a handle to close). */
function owned(f: SafetensorsFile, make: () => RenamedSource): RenamedSource {
  try { return make(); } catch (e) { f.close(); throw e; }
}

/** Whether a file looks like a diffusers UNet (UNet2DConditionModel names, no prefix). */
export function isDiffusersUNet(f: Pick<SafetensorsFile, 'has'>): boolean {
  return f.has('conv_in.weight') && f.has('time_embedding.linear_1.weight') && f.has('down_blocks.0.resnets.0.conv1.weight');
}

/**
 * `unet/diffusion_pytorch_model*.safetensors` under LDM UNet names (`prefix` + input_blocks…), for SD1, SD2
 * and SDXL. Takes ownership of an opened file (closing the source closes it).
 */
export function diffusersUNetSource(file: SafetensorsFile | string, prefix = 'model.diffusion_model.'): RenamedSource {
  const f = openFile(file);
  if (!isDiffusersUNet(f)) {
    f.close();
    throw new WeftError(`${f.path}: not a diffusers UNet (no conv_in / time_embedding / down_blocks tensors)`, { file: f.path, type: 'model_load_error' });
  }
  const rename = keyRenamer(modulePairs(layoutFromDiffusers(f.keys())), false);
  return owned(f, () => new RenamedSource(f, (k) => { const l = rename(k); return l === null ? null : prefix + l; }));
}

/** `vae/diffusion_pytorch_model*.safetensors` under LDM VAE names (`prefix` + encoder.down…; '' = standalone VAE). */
export function diffusersVaeSource(file: SafetensorsFile | string, prefix = ''): RenamedSource {
  const f = openFile(file);
  const levels = vaeUpLevels(f.keys());
  if (levels === 0 || !f.has('decoder.conv_in.weight')) {
    f.close();
    throw new WeftError(`${f.path}: not a diffusers VAE (no decoder.up_blocks / decoder.conv_in tensors)`, { file: f.path, type: 'model_load_error' });
  }
  const p = prefix && !prefix.endsWith('.') ? `${prefix}.` : prefix;
  return owned(f, () => new RenamedSource(f, (k) => { const l = ldmVaeKey(k, levels); return l === null ? null : p + l; }, (k, s) => vaeLdmShape(k, s)));
}
