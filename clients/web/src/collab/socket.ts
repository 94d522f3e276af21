import { HocuspocusProviderWebsocket } from '@hocuspocus/provider';

let shared: HocuspocusProviderWebsocket | null = null;

/** `ws(s)://<this host>/`: the server speaks Hocuspocus on `/` of the origin that served the app. */
function socketUrl(): string {
  const configured = import.meta.env.VITE_SOCKET_URL as string | undefined;
  if (configured) return configured;
  return `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/`;
}

/** The app's one socket: every open document's provider is multiplexed over it. */
export function sharedSocket(): HocuspocusProviderWebsocket {
  shared ??= new HocuspocusProviderWebsocket({ url: socketUrl() });
  return shared;
}
