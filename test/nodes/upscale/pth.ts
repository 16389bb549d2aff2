/**
 * Writes a PyTorch zip checkpoint (what torch.save produces) holding float32 tensors, optionally wrapped
 * as BasicSR does ({'params_ema': state_dict}), so the .pth path of the loader is tested on a real file.
 */
import fs from 'node:fs';
import { SafetensorsFile } from '../../../engine/io/safetensors.ts';

class Pickle {
  private readonly b: number[] = [0x80, 2];
  raw(...x: number[]): this { this.b.push(...x); return this; }
  str(s: string): this { const u = Buffer.from(s, 'utf8'); return this.raw(0x58, ...u32(u.length), ...u); }
  int(n: number): this { return this.raw(0x4a, ...u32(n)); }
  global(mod: string, name: string): this { return this.raw(0x63, ...Buffer.from(`${mod}\n${name}\n`)); }
  ints(xs: number[]): this { this.raw(0x28); for (const x of xs) this.int(x); return this.raw(0x74); }
  done(): Buffer { return Buffer.from([...this.b, 0x2e]); }
}

function u32(n: number): number[] {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return [...b];
}

function stored(members: Array<[string, Buffer]>): Buffer {
  const local: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of members) {
    const n = Buffer.from(name);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt32LE(data.length, 18);
    lh.writeUInt32LE(data.length, 22);
    lh.writeUInt16LE(n.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt32LE(data.length, 20);
    ch.writeUInt32LE(data.length, 24);
    ch.writeUInt16LE(n.length, 28);
    ch.writeUInt32LE(offset, 42);
    local.push(lh, n, data);
    central.push(ch, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...local, cd, end]);
}

/** Copies every tensor of a safetensors file into a torch zip checkpoint at `out`. */
export function safetensorsToPth(src: string, out: string, wrap?: string): void {
  const f = SafetensorsFile.open(src);
  const p = new Pickle();
  const members: Array<[string, Buffer]> = [];
  try {
    if (wrap) p.raw(0x7d).str(wrap);
    p.global('collections', 'OrderedDict').raw(0x29, 0x52);
    let i = 0;
    for (const [name, t] of f.tensors) {
      const data = f.readFloat32(name);
      const key = String(i++);
      const stride = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
      p.str(name).global('torch._utils', '_rebuild_tensor_v2').raw(0x28);
      p.raw(0x28).str('storage').global('torch', 'FloatStorage').str(key).str('cpu').int(data.length).raw(0x74, 0x51);
      p.int(0).ints([...t.shape]).ints(stride).raw(0x89).global('collections', 'OrderedDict').raw(0x29, 0x52).raw(0x74, 0x52);
      p.raw(0x73);
      members.push([`archive/data/${key}`, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
    }
    if (wrap) p.raw(0x73);
  } finally {
    f.close();
  }
  fs.writeFileSync(out, stored([['archive/data.pkl', p.done()], ...members, ['archive/version', Buffer.from('3\n')]]));
}
