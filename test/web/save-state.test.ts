/** The save indicator's text (docs/contracts.md "Browser app"), from what the provider and its socket know. */
import { describe, expect, it } from 'vitest';
import { saveStateText, type SaveFacts } from '../../clients/web/src/collab/save-state.js';

const facts = (over: Partial<SaveFacts>): SaveFacts => ({
  connected: true,
  lostConnection: false,
  synced: true,
  unsyncedChanges: 0,
  ...over,
});

describe('saveStateText', () => {
  it('says "Saved" only when connected, synced and every change acknowledged', () => {
    expect(saveStateText(facts({}))).toBe('Saved');
    expect(saveStateText(facts({ unsyncedChanges: 1 }))).toBe('Saving…');
    expect(saveStateText(facts({ synced: false }))).toBe('Saving…');
    expect(saveStateText(facts({ synced: false, unsyncedChanges: 0, connected: false }))).toBe('Saving…');
  });

  it('counts the pending changes while the connection is lost', () => {
    expect(saveStateText(facts({ connected: false, lostConnection: true, unsyncedChanges: 3 }))).toBe('Offline — 3 changes pending');
    expect(saveStateText(facts({ connected: false, lostConnection: true, synced: false, unsyncedChanges: 0 }))).toBe(
      'Offline — 0 changes pending',
    );
  });

  it('is "Saving…", not offline, while the first connection is still being made', () => {
    expect(saveStateText(facts({ connected: false, lostConnection: false, synced: false }))).toBe('Saving…');
  });
});
