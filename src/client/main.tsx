// First: every feature's styles (imported by its top component) build on these.
import './styles/base.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';
import { createPulseClients } from './pulse-clients.ts';
import { PulseProvider } from './pulse-provider.tsx';

const root = document.getElementById('root');
if (!root) throw new Error('index.html lacks #root');

// Made here, once: StrictMode renders twice in development, and a second set would open a second
// WebSocket and queue for the stream-sharing leader lock.
const clients = createPulseClients();

// The service worker keeps the shell, so the app opens offline (vite.config.ts, sw.ts); not
// under Vite's dev server (hot reloading), which has no /sw.js to serve.
if (!import.meta.hot && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((error: unknown) => {
    console.warn('Pulse works online only here: its service worker did not register', error);
  });
}

createRoot(root).render(
  <StrictMode>
    <PulseProvider clients={clients}>
      <App />
    </PulseProvider>
  </StrictMode>,
);
