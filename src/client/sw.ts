/**
 * The web app's service worker (built by vite-plugin-pwa's `injectManifest` into /sw.js): the
 * app opens offline and says so.
 *
 * - The built files (scripts, styles, icons, the manifest; their names carry their hash) are
 *   precached at install and served from the cache.
 * - Every page (a navigation: `/`, `/chat/…`) is the same shell, index.html: asked of the
 *   network first, so a deploy shows at once, and kept under one key; without a network (or
 *   after 4 s without an answer) the kept one is served.
 * - `/trpc`, `/healthz` and `/metrics` never pass through it.
 */
import { cleanupOutdatedCaches, precacheAndRoute, type PrecacheEntry } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { NetworkFirst } from 'workbox-strategies';

interface LifecycleEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}

/** What this worker uses of its global scope (the DOM's types describe a window, not it). */
declare const self: {
  __WB_MANIFEST: (PrecacheEntry | string)[];
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  addEventListener(type: 'install' | 'activate', listener: (event: LifecycleEvent) => void): void;
};

const SHELL_CACHE = 'pulse-shell';
/** The key every page's shell is kept under. */
const SHELL_KEY = '/';

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();

const shell = new NetworkFirst({
  cacheName: SHELL_CACHE,
  networkTimeoutSeconds: 4,
  plugins: [{ cacheKeyWillBeUsed: async () => SHELL_KEY }],
});
registerRoute(new NavigationRoute(shell, { denylist: [/^\/trpc/, /^\/healthz/, /^\/metrics/] }));

self.addEventListener('install', (event) => {
  // The shell is kept from the start, so the first offline open works too.
  event.waitUntil(
    caches
      .open(SHELL_CACHE)
      .then((cache) => cache.add(SHELL_KEY))
      .then(() => self.skipWaiting()),
  );
});
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
