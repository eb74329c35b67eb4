/** One socket write per frame: the pieces noise hands the TCP connection leave as one buffer. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MultiaddrConnection } from '@libp2p/interface';
import { joinWrites } from '../../../node/p2p/tcp-writes.ts';

/** A list of buffers with the methods a message stream's send list has. */
class List {
  bufs: Uint8Array[];
  constructor(...bufs: Uint8Array[]) {
    this.bufs = bufs;
  }
  get byteLength() {
    return this.bufs.reduce((n, b) => n + b.byteLength, 0);
  }
  subarray() {
    return new Uint8Array(Buffer.concat(this.bufs));
  }
  consume(bytes: number) {
    assert.equal(bytes, this.byteLength);
    this.bufs = [];
  }
  append(buf: Uint8Array) {
    this.bufs.push(buf);
  }
  *[Symbol.iterator]() {
    yield* this.bufs;
  }
}

test('a frame in several pieces is written to the socket once, its bytes in order', () => {
  const writes: number[][] = [];
  const conn = {
    // As @libp2p/tcp's connection does: one socket.write per piece of the list.
    sendData(data: List) {
      for (const buf of data) writes.push([...buf]);
      return { sentBytes: data.byteLength, canSendMore: true };
    },
  };
  joinWrites(conn as unknown as MultiaddrConnection);
  const sent = conn.sendData(new List(Uint8Array.of(0, 3), Uint8Array.of(7, 8, 9), Uint8Array.of(1)));
  assert.deepEqual(writes, [[0, 3, 7, 8, 9, 1]]);
  assert.equal(sent.sentBytes, 6);
  conn.sendData(new List(Uint8Array.of(5)));
  assert.deepEqual(writes.at(-1), [5], 'a single piece is written as it is');
});
