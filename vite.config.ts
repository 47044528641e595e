import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The web app: built into dist/client and served by the Pulse server itself. Source maps are
 * served with it, so they are made only when asked for (`PULSE_SOURCEMAP=1`): a production
 * build does not publish its sources.
 */
export default defineConfig({
  root: 'src/client',
  plugins: [react()],
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
