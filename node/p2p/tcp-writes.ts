/**
 * One socket write per frame on a TCP connection. Noise hands the TCP connection each encrypted
 * frame as a list of two or three pieces (its 2-byte length, the ciphertext, for a larger frame the
 * tag apart), and @libp2p/tcp writes each piece with its own `socket.write`; with Nagle off
 * (libp2p's default, right for latency) each write leaves as its own TCP segment. So every gossip
 * message, vote or IHAVE crossed the wire as two or three packets, each with 66 bytes of headers and
 * an ACK — bench:wan counted ≈ 5 packets per gossip RPC. Joining the pieces first sends one
 * segment per frame (up to the MSS), the same bytes in the same order.
 *
 * Done per connection through the upgrader the transport is handed (public interfaces), not by
 * patching a library class: the transport's own connection object gets a `sendData` that joins.
 */
import type { MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface';

/** The part of a Uint8ArrayList (what a message stream sends) used here. */
interface ByteList {
  readonly bufs: Uint8Array[];
  readonly byteLength: number;
  subarray(): Uint8Array;
  consume(bytes: number): void;
  append(buf: Uint8Array): void;
}

/** Makes `maConn` write each send as one buffer; a connection without `sendData` is left as it is. */
export function joinWrites(maConn: MultiaddrConnection): MultiaddrConnection {
  const conn = maConn as unknown as { sendData?: (data: ByteList) => unknown };
  const send = conn.sendData;
  if (typeof send !== 'function') return maConn;
  conn.sendData = function (this: unknown, data: ByteList) {
    if (data.bufs.length > 1) {
      // subarray() of a list of several pieces is one new buffer holding them in order.
      const whole = data.subarray();
      data.consume(data.byteLength);
      data.append(whole);
    }
    return send.call(this, data);
  };
  return maConn;
}

const joining = (upgrader: Upgrader): Upgrader =>
  Object.create(upgrader, {
    upgradeOutbound: {
      value: (maConn: MultiaddrConnection, o: Parameters<Upgrader['upgradeOutbound']>[1]) =>
        upgrader.upgradeOutbound(joinWrites(maConn), o),
    },
    upgradeInbound: {
      value: (maConn: MultiaddrConnection, o: Parameters<Upgrader['upgradeInbound']>[1]) =>
        upgrader.upgradeInbound(joinWrites(maConn), o),
    },
  });

/** A transport factory whose connections write one buffer per frame (see above). */
export function oneWritePerFrame<C>(factory: (components: C) => Transport): (components: C) => Transport {
  return (components) => {
    const transport = factory(components);
    const dial = transport.dial.bind(transport);
    const createListener = transport.createListener.bind(transport);
    transport.dial = (ma, options) => dial(ma, { ...options, upgrader: joining(options.upgrader) });
    transport.createListener = (options) =>
      createListener({ ...options, upgrader: joining(options.upgrader) });
    return transport;
  };
}
