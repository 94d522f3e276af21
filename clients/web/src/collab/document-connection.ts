import { HocuspocusProvider, WebSocketStatus } from '@hocuspocus/provider';
import * as Y from 'yjs';
import type { Identity } from '../session/identity.js';
import { peopleFromAwareness, type Person } from './people.js';
import type { SaveFacts } from './save-state.js';
import { skipEncodingOfOwnUpdates } from './skip-own-echo.js';
import { sharedSocket } from './socket.js';

export type Access =
  | { readonly state: 'pending' }
  | { readonly state: 'read-write' }
  | { readonly state: 'readonly' }
  | { readonly state: 'denied'; readonly reason: string };

/** How long after the last keystroke "is typing" stays on. */
const TYPING_MS = 2_000;

/**
 * One open document: its Y.Doc, its provider on the shared socket, and what the views
 * show about it (access, save state, people). Listeners are told of any change.
 */
export class DocumentConnection {
  readonly doc = new Y.Doc();
  readonly provider: HocuspocusProvider;
  private access: Access = { state: 'pending' };
  private lostConnection = false;
  private typingTimer: ReturnType<typeof setTimeout> | null = null;
  private me: Identity | null = null;
  private readonly listeners = new Set<() => void>();
  private readonly notify = () => this.listeners.forEach((listener) => listener());
  private readonly stopSkipping: () => void;
  // afterTransaction, not update: an update listener makes Yjs encode every transaction.
  private readonly onTransaction = (transaction: Y.Transaction) => {
    if (transaction.origin === this.provider || transaction.changed.size === 0) return;
    this.markTyping();
  };

  /**
   * `identity` may come later (`introduce`): a document named in the URL is opened while
   * sign-in is still under way, so the server's load of it overlaps the rest of the start.
   */
  constructor(
    readonly name: string,
    token: string | null,
    identity: Identity | null,
  ) {
    this.provider = new HocuspocusProvider({
      websocketProvider: sharedSocket(),
      name,
      document: this.doc,
      // Open mode ignores it; the server wants an Auth message either way.
      token: token ?? '',
      onAuthenticated: ({ scope }) => {
        performance.mark('scriptorium:authenticated');
        this.access = scope === 'readonly' ? { state: 'readonly' } : { state: 'read-write' };
        this.notify();
      },
      onAuthenticationFailed: ({ reason }) => {
        this.access = { state: 'denied', reason };
        this.notify();
      },
      onStatus: ({ status }) => {
        if (status === WebSocketStatus.Connected) this.lostConnection = false;
        this.notify();
      },
      onDisconnect: () => {
        this.lostConnection = true;
        this.notify();
      },
      onSynced: () => {
        performance.mark('scriptorium:synced');
        this.notify();
      },
      onUnsyncedChanges: this.notify,
      onAwarenessChange: this.notify,
    });
    if (identity) this.introduce(identity);
    this.stopSkipping = skipEncodingOfOwnUpdates(this.doc, this.provider, this.provider.boundDocumentUpdateHandler);
    this.doc.on('afterTransaction', this.onTransaction);
    window.addEventListener('online', this.notify);
    window.addEventListener('offline', this.notify);
    // A shared socket is not owned by the provider: attach it explicitly.
    this.provider.attach();
  }

  /** Who I am to the others (awareness `user`: carets, avatars). */
  introduce(identity: Identity): void {
    this.me = identity;
    this.provider.setAwarenessField('user', { key: identity.key, name: identity.name, color: identity.color });
  }

  /** Views mount after sign-in, so by then the connection has been introduced. */
  get identity(): Identity {
    if (this.me === null) throw new Error(`the connection to ${this.name} has not been introduced`);
    return this.me;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  currentAccess(): Access {
    return this.access;
  }

  saveFacts(): SaveFacts {
    const socketOpen = this.provider.configuration.websocketProvider.status === WebSocketStatus.Connected;
    const online = navigator.onLine;
    return {
      connected: socketOpen && online,
      lostConnection: this.lostConnection || !online,
      synced: this.provider.isSynced,
      unsyncedChanges: this.provider.unsyncedChanges,
    };
  }

  people(): Person[] {
    const awareness = this.provider.awareness;
    if (!awareness) return [];
    return peopleFromAwareness(awareness.getStates() as Map<number, Record<string, unknown>>, this.doc.clientID);
  }

  private markTyping(): void {
    if (this.typingTimer === null) this.provider.setAwarenessField('typing', true);
    else clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => {
      this.typingTimer = null;
      this.provider.setAwarenessField('typing', false);
    }, TYPING_MS);
  }

  destroy(): void {
    if (this.typingTimer !== null) clearTimeout(this.typingTimer);
    this.doc.off('afterTransaction', this.onTransaction);
    this.stopSkipping();
    window.removeEventListener('online', this.notify);
    window.removeEventListener('offline', this.notify);
    this.listeners.clear();
    // Detaches from the shared socket (CLOSE for this document) and removes our awareness.
    this.provider.destroy();
    this.doc.destroy();
  }
}
