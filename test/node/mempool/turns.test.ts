/**
 * Admission takes turns with the rest of the main thread (mempool/turns.ts): a large batch is
 * admitted in slices, in arrival order, with the event loop free for consensus messages between.
 */
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { test } from 'node:test';
import { AdmissionTurns, SLICE } from '../../../node/mempool/turns.ts';

test('a batch is admitted in slices, in arrival order, with pending I/O handled between slices', async (t) => {
  // A real socket stands for a vote arriving while a gossiped batch of 500 is being admitted.
  // The batch starts only once the server has written the vote (not merely once the client is
  // connected): otherwise, on a loaded machine, the server's accept can fall a turn later and the
  // vote with it, which would measure the event loop's order rather than the slicing.
  const served = Promise.withResolvers<void>();
  const server = createServer((socket) => {
    socket.end('vote');
    served.resolve();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const { port } = server.address() as { port: number };
  const client = connect(port, '127.0.0.1');
  await Promise.all([new Promise((resolve) => client.once('connect', resolve)), served.promise]);

  const turns = new AdmissionTurns();
  const order: string[] = [];
  let voteAfter = -1;
  const arrived = new Promise<void>((resolve) =>
    client.once('data', () => {
      voteAfter = order.length;
      resolve();
    }),
  );
  // Busy-wait until the vote's bytes are surely waiting in the socket, as if they came mid-batch.
  const admit = async (i: number) => {
    await turns.take();
    if (i === 0) {
      const until = Date.now() + 100;
      while (Date.now() < until) {}
    }
    order.push(String(i));
  };
  const all = Promise.all(Array.from({ length: 500 }, (_, i) => admit(i)));
  assert.equal(turns.waiting, 500 - SLICE, 'all but the first slice wait for a turn');
  await Promise.all([all, arrived]);
  assert.deepEqual(
    order,
    Array.from({ length: 500 }, (_, i) => String(i)),
    'arrival order is kept',
  );
  assert.ok(
    voteAfter >= 1 && voteAfter <= 2 * SLICE,
    `the vote was handled after ${voteAfter} admissions, not 500`,
  );
  assert.equal(turns.waiting, 0);
  client.destroy();
});
