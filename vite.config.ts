import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** The web app: built into dist/client and served by the Pulse server itself. */
export default defineConfig({
  root: 'src/client',
  plugins: [react()],
  build: { outDir: '../../dist/client', emptyOutDir: true, sourcemap: true },
  server: {
    proxy: {
      '/trpc': { target: 'http://127.0.0.1:3000', ws: true },
    },
  },
});
