/** A FLUX diffusion model too large for RAM as float32 runs its Linears in 8 bits without being asked. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { autoFluxQuant, FLUX_FLOAT32_LIMIT } from '../../../engine/models/flux-sd/runner.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-flux-auto-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A safetensors file whose header declares F16 tensors of these sizes; the data is a sparse hole (no disk use). */
function sparseCheckpoint(name: string, tensors: Record<string, number[]>): string {
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const [k, shape] of Object.entries(tensors)) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[k] = { dtype: 'F16', shape, data_offsets: [off, off + bytes] };
    off += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const p = path.join(dir, name);
  const fd = fs.openSync(p, 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeSync(fd, len);
  fs.writeSync(fd, json);
  fs.ftruncateSync(fd, 8 + json.length + off);
  fs.closeSync(fd);
  return p;
}

test('q8 above the float32 limit (a 12B FLUX is ~48 GB), stored precision below it; the prefix decides what counts', () => {
  const big = sparseCheckpoint('flux-12b.safetensors', { 'double_blocks.0.img_mlp.0.weight': [60000, 70000] }); // 4.2e9 params → 16.8 GB f32
  assert.ok(60000 * 70000 * 4 > FLUX_FLOAT32_LIMIT);
  assert.equal(autoFluxQuant(big, ''), 'q8');
  const small = sparseCheckpoint('flux-small.safetensors', { 'double_blocks.0.img_mlp.0.weight': [3072, 12288] });
  assert.equal(autoFluxQuant(small, ''), undefined);
  // An all-in-one checkpoint: only the diffusion model's tensors count, not its text encoders.
  const aio = sparseCheckpoint('aio.safetensors', { 'model.diffusion_model.x.weight': [3072, 3072], 'text_encoders.t5xxl.transformer.big.weight': [60000, 70000] });
  assert.equal(autoFluxQuant(aio, 'model.diffusion_model.'), undefined);
});
