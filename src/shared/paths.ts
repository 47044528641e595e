/**
 * URL paths the server and its clients both build: the tRPC endpoint, and the web app's pages
 * that notifications and chat link to.
 */

/** Where tRPC answers: `/trpc/<procedure>` over HTTP and SSE, `/trpc` for WebSockets. */
export const TRPC_PATH = '/trpc';

export const incidentPath = (incidentId: string) => `/incidents/${encodeURIComponent(incidentId)}`;

export const chatRoomPath = (roomId: string) => `/chat/${encodeURIComponent(roomId)}`;

/**
 * The multiplexed live stream (decision 0021): `POST /trpc-live` opens one, `POST
 * /trpc-live/<stream>` adds and removes its subscriptions.
 */
export const LIVE_PATH = '/trpc-live';
