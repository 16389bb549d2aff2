/** Progress previews: the sampling module's latent→RGB map, encoded as a small JPEG for the UI. */
import sharp from 'sharp';
import type { PreviewImage } from '../../graph/context.ts';
import { latentPreview, type PreviewFamily } from '../../sampling/preview.ts';
import type { Tensor } from '../../tensor/tensor.ts';

export async function previewImage(latent: Tensor, family: PreviewFamily): Promise<PreviewImage | undefined> {
  if (latent.shape[1] !== (family === 'flux' ? 16 : 4)) return undefined;
  const { width, height, rgb } = latentPreview(latent, family);
  const buf = await sharp(rgb, { raw: { width, height, channels: 3 } }).jpeg({ quality: 80 }).toBuffer();
  return { format: 'JPEG', data: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) };
}
