/** The bench's hand-written codecs must match what Yjs / the providers put on the wire. */
import * as encoding from 'lib0/encoding';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { MessageType, SyncType } from '../../server/codec/message-types.js';
// @ts-ignore -- compiled output, built by `npm test` before vitest runs
import * as benchFrames from '../../dist/bench/frames.js';

const { encodeAwareness, encodeAwarenessUpdate, encodeMapSetUpdate, encodeSync, forEachEdit, MapSetFrameEncoder, peekHeader, PONG_FRAME } =
  benchFrames;

/** A frame as a provider writes it with lib0: prefix (Hocuspocus: the name), then `write`. */
function providerFrame(protocol: 'hocuspocus' | 'y-websocket', docName: string, write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  if (protocol === 'hocuspocus') encoding.writeVarString(encoder, docName);
  write(encoder);
  return encoding.toUint8Array(encoder);
}

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
    const values = [
      0,
      -0,
      1,
      -1,
      63,
      64,
      -64,
      8191,
      2 ** 31 - 1,
      -(2 ** 31 - 1),
      2 ** 31,
      1.5,
      -2.25,
      0.1,
      123_456.789,
      1.7e12 + 0.123,
      NaN,
      Infinity,
    ];
    const clocks = [0, 1, 127, 128, 16_383, 16_384, 2 ** 21, 2 ** 31 - 1];
    for (const protocol of ['hocuspocus', 'y-websocket'] as const) {
      for (const docName of ['d', 'bench-sat-abc-17', 'ünïcødé/doc']) {
        const clientId = 3_141_592_653;
        const frames = new MapSetFrameEncoder(protocol, docName, clientId, 'e');
        for (const clock of clocks) {
          for (const value of values) {
            const key = `1.${clock}`;
            const expected = encodeSync(protocol, docName, SyncType.Update, encodeMapSetUpdate(clientId, clock, 'e', key, value));
            expect(Buffer.from(frames.encode(clock, key, value)).equals(Buffer.from(expected))).toBe(true);
          }
        }
        // Long keys take the generic path (update ≥ 128 bytes) and must still match.
        const long = 'k'.repeat(200);
        const expected = encodeSync(protocol, docName, SyncType.Update, encodeMapSetUpdate(clientId, 5, 'e', long, 1.5));
        expect(Buffer.from(frames.encode(5, long, 1.5)).equals(Buffer.from(expected))).toBe(true);
      }
    }
  });

  it('sync and awareness frames (from the server codec) are byte-identical to what a provider writes with lib0', () => {
    const payload = new Uint8Array(300).map((_, i) => i & 0xff);
    for (const protocol of ['hocuspocus', 'y-websocket'] as const) {
      for (const sub of [SyncType.Step1, SyncType.Step2, SyncType.Update]) {
        const expected = providerFrame(protocol, 'ünï/doc', (e) => {
          encoding.writeVarUint(e, MessageType.Sync);
          encoding.writeVarUint(e, sub);
          encoding.writeVarUint8Array(e, payload);
        });
        expect(Buffer.from(encodeSync(protocol, 'ünï/doc', sub, payload)).equals(Buffer.from(expected))).toBe(true);
      }
      const update: Uint8Array = encodeAwarenessUpdate(3_141_592_653, 129, '{"user":{"name":"Ada é"}}');
      const expectedUpdate = encoding.encode((e) => {
        encoding.writeVarUint(e, 1);
        encoding.writeVarUint(e, 3_141_592_653);
        encoding.writeVarUint(e, 129);
        encoding.writeVarString(e, '{"user":{"name":"Ada é"}}');
      });
      expect(Buffer.from(update).equals(Buffer.from(expectedUpdate))).toBe(true);
      const expected = providerFrame(protocol, 'd', (e) => {
        encoding.writeVarUint(e, MessageType.Awareness);
        encoding.writeVarUint8Array(e, update);
      });
      expect(Buffer.from(encodeAwareness(protocol, 'd', update)).equals(Buffer.from(expected))).toBe(true);
    }
    expect([...PONG_FRAME]).toEqual([0x0a]);
  });

  it('peeks the header of both protocols', () => {
    const update = encodeMapSetUpdate(1, 0, 'e', 'k', 1);
    expect(peekHeader('hocuspocus', encodeSync('hocuspocus', 'a/document', SyncType.Update, update))).toMatchObject({ type: 0, sub: 2 });
    expect(peekHeader('y-websocket', encodeSync('y-websocket', 'ignored', SyncType.Update, update))).toMatchObject({ type: 0, sub: 2 });
    expect(peekHeader('hocuspocus', new Uint8Array([0x09])).type).toBe(-1);
  });

  it("finds the writers' edits and their send times in one update and in updates a server merged", () => {
    // A float64 (send times have a fraction), and two that fit a float32.
    const times = [1_700_000.123, 1_700_001.5, 1_700_002.75];
    const single = encodeMapSetUpdate(7, 0, 'e', '0.0', times[0]!);
    const merged = Y.mergeUpdates([
      single,
      encodeMapSetUpdate(7, 1, 'e', '0.1', times[1]!),
      encodeMapSetUpdate(9, 0, 'e', '1.0', times[2]!),
      // Not the writers': another root type, and an edit whose value is no float64.
      (() => {
        const doc = new Y.Doc();
        doc.getText('default').insert(0, 'e\u0028\u0001 some text');
        return Y.encodeStateAsUpdate(doc);
      })(),
    ]);
    const seen = (update: Uint8Array): { edits: number; sentAt: number[] } => {
      const sentAt: number[] = [];
      const frame = Buffer.from(encodeSync('hocuspocus', 'a/document', SyncType.Update, update));
      const edits = forEachEdit(frame, peekHeader('hocuspocus', frame).offset, (t: number) => sentAt.push(t));
      return { edits, sentAt };
    };
    expect(seen(single)).toEqual({ edits: 1, sentAt: [times[0]] });
    const all = seen(merged);
    expect(all.edits).toBe(3);
    expect(all.sentAt.sort()).toEqual(times);
    expect(seen(encodeMapSetUpdate(7, 2, 'e', '0.2', 42))).toEqual({ edits: 1, sentAt: [] });
  });
});
