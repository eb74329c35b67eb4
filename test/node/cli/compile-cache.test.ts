/**
 * A node process writes Node.js's compile cache as soon as it has started (node/cli/node-flags.ts,
 * node/cli/tillid.ts), so the next start of the same code — after a crash or a SIGKILL too —
 * loads neither the TypeScript stripper nor the parser for its modules, and keeps that memory
 * (the stripper is WebAssembly: its memory counts as the process's external memory).
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { tempDir } from '../../fixtures/node.ts';
import {
  freeBasePort,
  initNetworkDir,
  type NodeProcess,
  startNodeProcess,
  stopNodeProcess,
} from '../../fixtures/processes.ts';

/** tillid_nodejs_external_memory_bytes of a running node, in MB. */
async function externalMb(node: NodeProcess): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const value = /^tillid_nodejs_external_memory_bytes (\S+)$/m.exec(text)?.[1];
  assert.ok(value, 'the node reports its external memory');
  return Number(value) / 2 ** 20;
}

const entries = (dir: string) => readdirSync(dir, { recursive: true }).length;

test('a node writes the compile cache once started; started again, it keeps the stripper out of memory', async (t) => {
  const cache = tempDir(t, 'tillid-compile-cache-');
  const configs = await initNetworkDir(tempDir(t), 1, 'tillid-cache', await freeBasePort(1));
  const config = configs[0] as string;
  const env = { NODE_COMPILE_CACHE: cache };

  const first = await startNodeProcess(config, env);
  t.after(() => stopNodeProcess(first, 'SIGKILL'));
  // Answered by the node's event loop after the synchronous flush that follows its start.
  const cold = await externalMb(first);
  assert.ok(entries(cache) > 100, 'the cache holds the modules of a started node');
  // Killed, not stopped: what was written at start-up is all the next start gets.
  await stopNodeProcess(first, 'SIGKILL');

  const second = await startNodeProcess(config, env);
  t.after(() => stopNodeProcess(second));
  const warm = await externalMb(second);
  // About 7 MB here (the stripper's wasm memory); other external memory (buffers) is under 1 MB apart.
  assert.ok(warm < cold - 4, `external memory ${warm.toFixed(1)} MB warm against ${cold.toFixed(1)} MB cold`);
});
