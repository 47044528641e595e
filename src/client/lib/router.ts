import { useEffect, useSyncExternalStore } from 'react';
import { TRPC_PATH } from '../../shared/paths.ts';
import { createExternalStore } from './external-store.ts';

/**
 * A tiny history-based router: the path is an external store, `navigate` pushes to history,
 * and clicks on same-origin `<a href>` links navigate in place. The server answers every path
 * with index.html, so a reload or a pasted link lands on the same page.
 */
const path = createExternalStore<string>(typeof location === 'undefined' ? '/' : location.pathname);

if (typeof window !== 'undefined') {
  window.addEventListener('popstate', () => path.set(location.pathname));
}

/** The current path (no query, no hash). */
export function usePath(): string {
  return useSyncExternalStore(path.subscribe, path.get);
}

/** Goes to `to` (a same-origin path) without reloading the page. */
export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const url = new URL(to, location.href);
  if (url.href === location.href) return;
  if (opts.replace) history.replaceState(null, '', url.href);
  else history.pushState(null, '', url.href);
  path.set(url.pathname);
  if (!url.hash) window.scrollTo(0, 0);
}

/** Which clicks on a link the browser should handle itself: new tabs, downloads, other sites. */
function ownLink(event: MouseEvent): HTMLAnchorElement | null {
  if (event.defaultPrevented || event.button !== 0) return null;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return null;
  const anchor = event.target instanceof Element ? event.target.closest('a') : null;
  if (!anchor || !anchor.href || anchor.hasAttribute('download')) return null;
  if (anchor.target && anchor.target !== '_self') return null;
  const url = new URL(anchor.href);
  if (url.origin !== location.origin || url.pathname.startsWith(TRPC_PATH)) return null;
  return anchor;
}

/**
 * Makes every same-origin link in the page (the app's own, and links inside notifications)
 * navigate in place. Mount once, in the app shell.
 */
export function useLinkNavigation(): void {
  useEffect(() => {
    const onClick = (event: MouseEvent) => {
      const anchor = ownLink(event);
      if (!anchor) return;
      event.preventDefault();
      navigate(anchor.href);
    };
    document.addEventListener('click', onClick);
    return () => document.removeEventListener('click', onClick);
  }, []);
}
