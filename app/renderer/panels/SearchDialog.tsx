import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { searchNodes, type SearchItem } from '../fuzzy.ts';

export interface SearchRequest {
  client: [number, number];
  graph: [number, number];
}

/** Node search opened by double-clicking the canvas: type, arrows, Enter to add, Escape to close. */
export function SearchDialog({ items, at, onPick, onClose }: { items: SearchItem[]; at: SearchRequest; onPick: (type: string) => void; onClose: () => void }) {
  const [query, setQuery] = useState('');
  const [index, setIndex] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  const results = useMemo(() => searchNodes(items, query, 20), [items, query]);
  useEffect(() => input.current?.focus(), []);
  const key = (e: KeyboardEvent) => {
    if (e.key === 'Escape') onClose();
    else if (e.key === 'ArrowDown') setIndex((i) => Math.min(i + 1, results.length - 1));
    else if (e.key === 'ArrowUp') setIndex((i) => Math.max(i - 1, 0));
    else if (e.key === 'Enter' && results[index]) onPick(results[index].type);
    else return;
    e.preventDefault();
    e.stopPropagation();
  };
  return (
    <div class="search-dialog" style={{ left: `${at.client[0]}px`, top: `${at.client[1]}px` }}>
      <input
        ref={input}
        placeholder="Search nodes…"
        value={query}
        onInput={(e) => {
          setQuery((e.currentTarget as HTMLInputElement).value);
          setIndex(0);
        }}
        onKeyDown={key}
        onBlur={() => setTimeout(onClose, 150)}
      />
      <ul>
        {results.map((r, i) => (
          <li key={r.type} class={i === index ? 'active' : ''} onMouseDown={() => onPick(r.type)}>
            <span>{r.title}</span>
            <span class="muted">{r.category}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
