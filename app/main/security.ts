/**
 * The window's security posture, as pure data and predicates main.ts applies: an isolated, sandboxed
 * renderer with no Node, navigation pinned to the embedded server, no new windows, no remote content.
 */
export function webPreferences(preload: string) {
  return {
    preload,
    contextIsolation: true,
    nodeIntegration: false,
    sandbox: true,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    spellcheck: false,
  } as const;
}

/** The window may show only pages of the embedded server. */
export function isAllowedNavigation(url: string, serverOrigin: string): boolean {
  try {
    return new URL(url).origin === serverOrigin;
  } catch {
    return false;
  }
}

/** Requests the renderer may make: the server (HTTP + WS), and in-page data/blob URLs. Nothing remote. */
export function isAllowedRequest(url: string, serverOrigin: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === 'data:' || u.protocol === 'blob:' || u.protocol === 'devtools:' || u.protocol === 'chrome-extension:') return true;
  const wsOrigin = serverOrigin.replace(/^http/, 'ws');
  return u.origin === serverOrigin || `${u.protocol}//${u.host}` === wsOrigin;
}
