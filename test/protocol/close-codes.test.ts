/**
 * The close-code table: one decision per protocol and condition. y-websocket 3.x clients stop
 * reconnecting for good on 4400–4499 (their default `shouldReconnect`), so on `/y/` sockets
 * only what reconnecting cannot fix may use 44xx; Hocuspocus providers reconnect after any
 * close and keep the codes Hocuspocus itself uses.
 */
import { describe, expect, it } from 'vitest';
import {
  CLOSE_CONDITIONS,
  closeCode,
  closeFor,
  closeReason,
  isPermanentClose,
  type CloseCondition,
} from '../../server/protocol/close-codes.js';
import { Hub } from '../helpers/rooms.js';

/** Conditions reconnecting cannot fix. */
const PERMANENT: readonly CloseCondition[] = ['malformed', 'forbidden', 'deleted'];

describe('close codes per protocol', () => {
  it('y-websocket: 44xx exactly for what reconnecting cannot fix; every transient condition gets a code the client retries', () => {
    for (const condition of CLOSE_CONDITIONS) {
      expect({ condition, permanent: isPermanentClose('y-websocket', closeCode('y-websocket', condition)) }).toEqual({
        condition,
        permanent: PERMANENT.includes(condition),
      });
    }
  });

  it('the table', () => {
    const table = Object.fromEntries(
      CLOSE_CONDITIONS.map((condition) => [condition, [closeCode('hocuspocus', condition), closeCode('y-websocket', condition)]]),
    );
    expect(table).toEqual({
      malformed: [4401, 4401],
      forbidden: [4403, 4403],
      deleted: [4410, 4410],
      'rate-limited': [4429, 4529],
      idle: [4408, 4508],
      reset: [4205, 4205],
      busy: [1013, 1013],
      unavailable: [1011, 1011],
      'not-stored': [1011, 1011],
      'internal-error': [1011, 1011],
      shutdown: [1001, 1001],
      'too-large': [1009, 1009],
    });
  });

  it('Hocuspocus providers never give up, whatever the code', () => {
    for (const condition of CLOSE_CONDITIONS) expect(isPermanentClose('hocuspocus', closeCode('hocuspocus', condition))).toBe(false);
  });

  it("closeFor closes with the connection's protocol code and the condition's reason unless given one", () => {
    const hub = new Hub();
    const y = { socket: hub.socket(), protocol: 'y-websocket' as const };
    const h = { socket: hub.socket(), protocol: 'hocuspocus' as const };
    closeFor(y, 'idle');
    closeFor(h, 'idle');
    const named = { socket: hub.socket(), protocol: 'y-websocket' as const };
    closeFor(named, 'forbidden', 'token expired');
    expect(y.socket.closes).toEqual([{ code: 4508, reason: closeReason('idle') }]);
    expect(h.socket.closes).toEqual([{ code: 4408, reason: 'Connection Timeout' }]);
    expect(named.socket.closes).toEqual([{ code: 4403, reason: 'token expired' }]);
  });
});
