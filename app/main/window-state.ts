/** Window bounds remembered between launches, kept on a visible display. Pure over injected I/O. */
export interface Bounds {
  x?: number;
  y?: number;
  width: number;
  height: number;
}

export interface WindowState extends Bounds {
  maximized: boolean;
}

export const DEFAULT_STATE: WindowState = { width: 1400, height: 900, maximized: false };
const MIN = { width: 640, height: 480 };

/** Parses saved state; falls back to defaults on anything unreadable, and recentres off-screen windows. */
export function loadWindowState(text: string | null, displays: { x: number; y: number; width: number; height: number }[]): WindowState {
  let s: Partial<WindowState> = {};
  try {
    s = text ? (JSON.parse(text) as Partial<WindowState>) : {};
  } catch {
    s = {};
  }
  const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  const state: WindowState = {
    width: num(s.width) ? Math.max(MIN.width, s.width!) : DEFAULT_STATE.width,
    height: num(s.height) ? Math.max(MIN.height, s.height!) : DEFAULT_STATE.height,
    maximized: s.maximized === true,
  };
  if (num(s.x) && num(s.y)) {
    // Visible enough when the title bar's top-left 100×40 lies on some display.
    const onScreen = displays.some((d) => s.x! >= d.x && s.y! >= d.y && s.x! + 100 <= d.x + d.width && s.y! + 40 <= d.y + d.height);
    if (onScreen) Object.assign(state, { x: s.x, y: s.y });
  }
  return state;
}

export function serializeWindowState(bounds: Bounds, maximized: boolean): string {
  return JSON.stringify({ x: bounds.x, y: bounds.y, width: bounds.width, height: bounds.height, maximized });
}
