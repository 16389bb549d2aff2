import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createFolders } from '../../../engine/io/folders.ts';
import { WeftError } from '../../../engine/errors.ts';

const roots: string[] = [];
after(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

function tree(files: string[]): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-folders-'));
  roots.push(root);
  for (const f of files) {
    const p = path.join(root, f);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, f);
  }
  return root;
}

function make(root: string, extraModelPaths?: string) {
  return createFolders({
    modelsDir: path.join(root, 'models'),
    inputDir: path.join(root, 'input'),
    outputDir: path.join(root, 'output'),
    tempDir: path.join(root, 'temp'),
    extraModelPaths,
  });
}

test('lists recursively, sorted, with / separators, filtered by extension, and merges alias folders', () => {
  const root = tree([
    'models/checkpoints/sd15/b.safetensors',
    'models/checkpoints/a.ckpt',
    'models/checkpoints/readme.txt',
    'models/checkpoints/.hidden.safetensors',
    'models/clip/clip_l.safetensors',
    'models/text_encoders/t5.safetensors',
    'models/unet/flux.sft',
    'models/t2i_adapter/sketch.pth',
    'models/controlnet/canny.safetensors',
    'models/configs/v1.yaml',
    'models/configs/v1.safetensors',
  ]);
  const f = make(root);
  assert.deepEqual(f.listModels('checkpoints'), ['a.ckpt', 'sd15/b.safetensors']);
  assert.deepEqual(f.listModels('clip'), ['clip_l.safetensors', 't5.safetensors']);
  assert.deepEqual(f.listModels('text_encoders'), f.listModels('clip'));
  assert.deepEqual(f.listModels('unet'), ['flux.sft']);
  assert.deepEqual(f.listModels('diffusion_models'), ['flux.sft']);
  assert.deepEqual(f.listModels('controlnet'), ['canny.safetensors', 'sketch.pth']);
  assert.deepEqual(f.listModels('configs'), ['v1.yaml']);
  assert.deepEqual(f.listModels('loras'), []);
});

test('listing notices new files', () => {
  const root = tree(['models/loras/a.safetensors']);
  const f = make(root);
  assert.deepEqual(f.listModels('loras'), ['a.safetensors']);
  fs.mkdirSync(path.join(root, 'models/loras/sub'));
  fs.writeFileSync(path.join(root, 'models/loras/sub/b.safetensors'), 'x');
  assert.deepEqual(f.listModels('loras'), ['a.safetensors', 'sub/b.safetensors']);
});

test('resolves portable names: backslashes, subfolders, and by file name when the layout differs', () => {
  const root = tree(['models/checkpoints/sd15/b.safetensors', 'models/loras/style/x.safetensors']);
  const f = make(root);
  const want = path.join(root, 'models/checkpoints/sd15/b.safetensors');
  assert.equal(f.resolveModel('checkpoints', 'sd15/b.safetensors'), want);
  assert.equal(f.resolveModel('checkpoints', 'sd15\\b.safetensors'), want);
  assert.equal(f.resolveModel('checkpoints', 'SD1.5\\other\\b.safetensors'), want);
  assert.equal(f.resolveModel('checkpoints', 'b.safetensors'), want);
  assert.equal(f.resolveModel('loras', 'x.safetensors'), path.join(root, 'models/loras/style/x.safetensors'));
});

test('a missing model names the folder and lists close matches', () => {
  const root = tree(['models/checkpoints/v1-5-pruned-emaonly.safetensors', 'models/checkpoints/sdxl_base.safetensors']);
  const f = make(root);
  assert.throws(
    () => f.resolveModel('checkpoints', 'v1-5-pruned-emaonly-fp16.safetensors'),
    (e: unknown) => {
      assert.ok(e instanceof WeftError);
      assert.equal(e.type, 'model_not_found');
      assert.match(e.message, /checkpoints model/);
      assert.match(e.message, /Close matches: v1-5-pruned-emaonly\.safetensors/);
      assert.doesNotMatch(e.message, /sdxl_base/);
      return true;
    },
  );
});

test('refuses .., absolute paths, and input links that escape; model folders follow user links', () => {
  const root = tree(['models/loras/a.safetensors', 'secret/key.safetensors', 'input/img.png']);
  const f = make(root);
  for (const bad of ['../../secret/key.safetensors', '..\\..\\secret\\key.safetensors', path.join(root, 'secret/key.safetensors'), 'C:\\x.safetensors']) {
    assert.throws(() => f.resolveModel('loras', bad), (e: unknown) => e instanceof WeftError && e.type === 'path_refused', bad);
  }
  assert.throws(() => f.resolveInput('../secret/key.safetensors'), /not allowed/);
  fs.symlinkSync(path.join(root, 'secret/key.safetensors'), path.join(root, 'models/loras/link.safetensors'));
  fs.symlinkSync(path.join(root, 'secret'), path.join(root, 'models/loras/linkdir'));
  // Users link model libraries in from other disks: model folders follow links (names still cannot escape).
  assert.equal(f.resolveModel('loras', 'link.safetensors'), path.join(root, 'models/loras/link.safetensors'));
  assert.equal(f.resolveModel('loras', 'linkdir/key.safetensors'), path.join(root, 'models/loras/linkdir/key.safetensors'));
  assert.deepEqual(f.listModels('loras'), ['a.safetensors', 'link.safetensors', 'linkdir/key.safetensors']);
  // Input files are served over HTTP: a link out of the input folder is refused.
  fs.symlinkSync(path.join(root, 'secret/key.safetensors'), path.join(root, 'input/leak.png'));
  assert.throws(() => f.resolveInput('leak.png'), /symbolic link escape refused/);
  assert.deepEqual(f.listInput(), ['img.png']);
  // A link that stays inside the root is fine.
  fs.symlinkSync(path.join(root, 'models/loras/a.safetensors'), path.join(root, 'models/loras/alias.safetensors'));
  assert.equal(f.resolveModel('loras', 'alias.safetensors'), path.join(root, 'models/loras/alias.safetensors'));
});

test('input names may carry ComfyUI annotations', () => {
  const root = tree(['input/a.png', 'input/sub/b.png', 'output/ComfyUI_00001_.png', 'temp/t.png']);
  const f = make(root);
  assert.deepEqual(f.listInput(), ['a.png', 'sub/b.png']);
  assert.equal(f.resolveInput('a.png'), path.join(root, 'input/a.png'));
  assert.equal(f.resolveInput('sub/b.png'), path.join(root, 'input/sub/b.png'));
  assert.equal(f.resolveInput('a.png [input]'), path.join(root, 'input/a.png'));
  assert.equal(f.resolveInput('ComfyUI_00001_.png [output]'), path.join(root, 'output/ComfyUI_00001_.png'));
  assert.equal(f.resolveInput('t.png [temp]'), path.join(root, 'temp/t.png'));
  assert.throws(() => f.resolveInput('b.png [output]'), (e: unknown) => e instanceof WeftError && /output file "b.png"/.test(e.message));
});

test('extra_model_paths.yaml: base_path, multi-line values, aliases, is_default order', () => {
  const root = tree([
    'models/loras/own.safetensors',
    'a1111/models/Lora/l1.safetensors',
    'a1111/models/LyCORIS/l2.safetensors',
    'a1111/models/Stable-diffusion/ckpt.safetensors',
    'a1111/models/Stable-diffusion/own.safetensors',
    'other/clips/c.safetensors',
    'first/checkpoints/own.safetensors',
  ]);
  const yamlFile = path.join(root, 'extra_model_paths.yaml');
  fs.writeFileSync(
    yamlFile,
    [
      'a111:',
      '  base_path: a1111/',
      '  checkpoints: models/Stable-diffusion',
      '  loras: |',
      '    models/Lora',
      '    models/LyCORIS',
      'other:',
      `  base_path: ${path.join(root, 'other')}`,
      '  clip: clips',
      'preferred:',
      '  base_path: first',
      '  is_default: true',
      '  checkpoints: checkpoints',
      '',
    ].join('\n'),
  );
  const f = make(root, yamlFile);
  assert.deepEqual(f.listModels('loras'), ['l1.safetensors', 'l2.safetensors', 'own.safetensors']);
  assert.deepEqual(f.listModels('text_encoders'), ['c.safetensors']);
  assert.equal(f.resolveModel('clip', 'c.safetensors'), path.join(root, 'other/clips/c.safetensors'));
  assert.equal(f.resolveModel('checkpoints', 'ckpt.safetensors'), path.join(root, 'a1111/models/Stable-diffusion/ckpt.safetensors'));
  // is_default roots are searched before models/ and the others.
  assert.equal(f.resolveModel('checkpoints', 'own.safetensors'), path.join(root, 'first/checkpoints/own.safetensors'));
  assert.equal(f.modelRoots('checkpoints')[0], path.join(root, 'first/checkpoints'));
});

test('a broken extra_model_paths.yaml is a clear error naming the file', () => {
  const root = tree([]);
  const yamlFile = path.join(root, 'bad.yaml');
  fs.writeFileSync(yamlFile, 'a: [1, 2\n');
  assert.throws(() => make(root, yamlFile), (e: unknown) => e instanceof WeftError && e.file === yamlFile);
});
