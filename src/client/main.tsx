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

createRoot(root).render(
  <StrictMode>
    <PulseProvider clients={clients}>
      <App />
    </PulseProvider>
  </StrictMode>,
);
