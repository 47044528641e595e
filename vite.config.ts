import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

/**
 * The web app: built into dist/client and served by the Pulse server itself. Source maps are
 * served with it, so they are made only when asked for (`PULSE_SOURCEMAP=1`): a production
 * build does not publish its sources.
 *
 * Installable: vite-plugin-pwa writes the web app manifest and builds src/client/sw.ts into
 * /sw.js with the list of built files to precache (workbox), so the app opens offline.
 */
export default defineConfig({
  root: 'src/client',
  plugins: [
    react(),
    VitePWA({
      strategies: 'injectManifest',
      srcDir: '.',
      filename: 'sw.ts',
      // main.tsx registers it, in production builds only.
      injectRegister: false,
      manifest: {
        name: 'Pulse',
        short_name: 'Pulse',
        description: 'Live operations console: notifications, dashboard, incidents and chat.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        background_color: '#0b1220',
        theme_color: '#0b1220',
        icons: [
          { src: '/icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' },
          { src: '/icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'maskable' },
        ],
      },
      injectManifest: {
        // index.html is the shell every page shares: the worker keeps it itself (network first).
        globPatterns: ['**/*.{js,css,svg,png,webmanifest}'],
        globIgnores: ['index.html'],
      },
    }),
  ],
  build: {
    outDir: '../../dist/client',
    emptyOutDir: true,
    sourcemap: process.env.PULSE_SOURCEMAP === '1',
  },
  server: {
    proxy: {
      '/trpc': { target: 'http://127.0.0.1:3000', ws: true },
    },
  },
});
