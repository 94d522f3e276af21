/** The bench's hand-written codecs must match what Yjs / the providers put on the wire. */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
// @ts-ignore -- compiled output, built by `npm test` before vitest runs
import { encodeMapSetUpdate, encodeSync, MapSetFrameEncoder, peekHeader, SYNC_UPDATE } from '../../dist/bench/frames.js';

describe('bench frames', () => {
  it('hand-encoded map-set updates are byte-identical to Yjs', () => {
    const doc = new Y.Doc();
    let last: Uint8Array | null = null;
    doc.on('update', (u: Uint8Array) => (last = u));
    const map = doc.getMap<number>('e');
    for (let seq = 0; seq < 300; seq++) {
      const value = seq % 3 === 0 ? 123_456.789 + seq : seq % 3 === 1 ? seq : 1.5;
      map.set(`3.${seq}`, value);
      const mine: Uint8Array = encodeMapSetUpdate(doc.clientID, seq, 'e', `3.${seq}`, value);
      expect(Buffer.from(mine).equals(Buffer.from(last!))).toBe(true);
    }
  });

  it('hand-encoded updates apply in order and out of order', () => {
    const doc = new Y.Doc();
    for (const seq of [2, 0, 1]) Y.applyUpdate(doc, encodeMapSetUpdate(42, seq, 'e', `0.${seq}`, seq + 0.5));
    expect(doc.getMap('e').toJSON()).toEqual({ '0.0': 0.5, '0.1': 1.5, '0.2': 2.5 });
  });

  it('writer frames are byte-identical to encodeSync(encodeMapSetUpdate(...)) for both protocols', () => {
    const values = [0, -0, 1, -1, 63, 64, -64, 8191, 2 ** 31 - 1, -(2 ** 31 - 1), 2 ** 31, 1.5, -2.25, 0.1, 123_456.789, 1.7e12 + 0.123, NaN, Infinity];
    const clocks = [0, 1, 127, 128, 16_383, 16_384, 2 ** 21, 2 ** 31 - 1];
    for (const protocol of ['hocuspocus', 'y-websocket'] as const) {
      for (const docName of ['d', 'bench-sat-abc-17', 'ünïcødé/doc']) {
        const clientId = 3_141_592_653;
        const frames = new MapSetFrameEncoder(protocol, docName, clientId, 'e');
        for (const clock of clocks) {
          for (const value of values) {
            const key = `1.${clock}`;
            const expected = encodeSync(protocol, docName, SYNC_UPDATE, encodeMapSetUpdate(clientId, clock, 'e', key, value));
            expect(Buffer.from(frames.encode(clock, key, value)).equals(Buffer.from(expected))).toBe(true);
          }
        }
        // Long keys take the generic path (update ≥ 128 bytes) and must still match.
        const long = 'k'.repeat(200);
        const expected = encodeSync(protocol, docName, SYNC_UPDATE, encodeMapSetUpdate(clientId, 5, 'e', long, 1.5));
        expect(Buffer.from(frames.encode(5, long, 1.5)).equals(Buffer.from(expected))).toBe(true);
      }
    }
  });

  it('peeks the header of both protocols', () => {
    const update = encodeMapSetUpdate(1, 0, 'e', 'k', 1);
    expect(peekHeader('hocuspocus', encodeSync('hocuspocus', 'a/document', SYNC_UPDATE, update))).toMatchObject({ type: 0, sub: 2 });
    expect(peekHeader('y-websocket', encodeSync('y-websocket', 'ignored', SYNC_UPDATE, update))).toMatchObject({ type: 0, sub: 2 });
    expect(peekHeader('hocuspocus', new Uint8Array([0x09])).type).toBe(-1);
  });
});
