/**
 * Text ComfyUI stores in WebP files: an EXIF chunk whose ASCII tags hold "workflow:{…}" (Make) and
 * "prompt:{…}" (Model), further keys on lower tags. Returns {key: text} split at the first ':'.
 */
export function readWebpText(data: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length < 12 || b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WEBP') return out;
  let p = 12;
  while (p + 8 <= b.length) {
    const id = b.toString('latin1', p, p + 4);
    const size = b.readUInt32LE(p + 4);
    const body = b.subarray(p + 8, Math.min(b.length, p + 8 + size));
    if (id === 'EXIF') Object.assign(out, readExifAscii(body));
    p += 8 + size + (size % 2);
  }
  return out;
}

function readExifAscii(exif: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let t = exif;
  if (t.toString('latin1', 0, 6) === 'Exif\0\0') t = t.subarray(6);
  if (t.length < 8) return out;
  const le = t.toString('latin1', 0, 2) === 'II';
  const u16 = (o: number) => (le ? t.readUInt16LE(o) : t.readUInt16BE(o));
  const u32 = (o: number) => (le ? t.readUInt32LE(o) : t.readUInt32BE(o));
  const ifd = u32(4);
  if (ifd + 2 > t.length) return out;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > t.length) break;
    const type = u16(e + 2);
    const n = u32(e + 4);
    if (type !== 2) continue;
    const at = n <= 4 ? e + 8 : u32(e + 8);
    let s = t.toString('utf8', at, Math.min(t.length, at + n));
    s = s.replace(/\0+$/, '');
    const colon = s.indexOf(':');
    if (colon <= 0) continue;
    // The frontend also accepts "Workflow:" / "Prompt:".
    const key = s.slice(0, colon);
    const lower = key.toLowerCase();
    out[lower === 'workflow' || lower === 'prompt' ? lower : key] = s.slice(colon + 1);
  }
  return out;
}
