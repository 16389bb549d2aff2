/**
 * External initializers kept in their stored integer type (uint8 codes for MatMulNBits).
 *
 * GraphBuilder.weight() always hands back float32 (it inserts a Cast for any other dtype, which ORT folds
 * at load: right for fp16/bf16 weights, wrong for packed codes, which must reach MatMulNBits as uint8).
 * Until the builder grows a `{ raw: true }` option this registers the initializer itself through the
 * builder's external list, so weightsDir / location handling stays the builder's.
 */
import { realpathSync } from 'node:fs';
import { WeftError } from '../../errors.ts';
import { DataType, type GraphBuilder } from '../../onnx/index.ts';
import { locateWeight, type WeightSource } from '../../onnx/weights.ts';

const ONNX_TYPE: Record<string, number> = { U8: DataType.uint8, F32: DataType.float32, I8: DataType.int8 };

interface ExternalInit { name: string; dataType: number; dims: number[]; file: string; offset: number; length: number }
interface BuilderInternals { externals: ExternalInit[]; fresh(prefix: string): string }

/**
 * Tensor `key` of `file` as an initializer of its own dtype (U8, I8 or F32) with shape `dims`. An overlay
 * source (LoRA-patched codes over the model's own) says which file holds the key.
 */
export function rawWeight(g: GraphBuilder, file: WeightSource, key: string, dims?: number[]): string {
  if (!file.has(key)) throw new WeftError(`${file.path}: tensor "${key}" is missing (needed by graph ${g.name})`, { file: file.path, input: key, type: 'model_load_error' });
  const { path: home, tensor: t } = locateWeight(file, key);
  const dataType = ONNX_TYPE[t.dtype];
  if (dataType === undefined) throw new WeftError(`${file.path}: tensor "${key}" has dtype ${t.dtype}; a raw initializer must be U8, I8 or F32`, { file: file.path, input: key });
  const shape = dims ?? t.shape;
  if (shape.reduce((a, b) => a * b, 1) !== t.shape.reduce((a, b) => a * b, 1)) {
    throw new WeftError(`${file.path}: tensor "${key}" [${t.shape.join(', ')}] cannot be viewed as [${shape.join(', ')}]`, { file: file.path, input: key });
  }
  const internals = g as unknown as BuilderInternals;
  if (!Array.isArray(internals.externals)) throw new WeftError('GraphBuilder has no external initializer list: quant/raw.ts needs updating');
  const name = internals.fresh(`q:${key}`);
  internals.externals.push({ name, dataType, dims: shape, file: realpathSync(home), offset: t.offset, length: t.byteLength });
  return name;
}
