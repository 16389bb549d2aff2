import { useState } from 'preact/hooks';
import type { Api } from '../api.ts';
import type { AppStore } from '../store.ts';
import { useStore, type Run } from './use-store.ts';

export function GalleryPanel({ store, api, run, desktop }: { store: AppStore; api: Api; run: Run; desktop: boolean }) {
  const history = useStore(store, (s) => s.history);
  const [open, setOpen] = useState<string | null>(null);
  const images = history.flatMap((h) => h.images);
  return (
    <section class="panel gallery-panel">
      <h2>Gallery</h2>
      {desktop ? <button onClick={() => run('reveal', 'output')}>Open output folder</button> : null}
      {images.length === 0 ? <p class="muted">No images yet.</p> : null}
      <div class="grid">
        {images.map((img, i) => (
          <img key={`${img.filename}-${i}`} src={api.viewUrl(img)} alt={img.filename} onClick={() => setOpen(api.viewUrl(img))} />
        ))}
      </div>
      {open ? (
        <div class="lightbox" onClick={() => setOpen(null)}>
          <img src={open} alt="" />
        </div>
      ) : null}
    </section>
  );
}
