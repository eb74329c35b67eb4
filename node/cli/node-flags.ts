/**
 * How a node process is launched, wherever that happens: `tillid network up` (so `npm start`),
 * the node images (docker/node*.Dockerfile, which spell the same settings out) and the test and
 * benchmark launchers (test/fixtures/processes.ts, test/bench/idle.ts). The settings trim what
 * an idle node keeps resident; README.md, "Empty blocks and idle cost", has the figures.
 *
 * --max-semi-space-size=8 (Node.js flag): V8 grows the young generation to 2 × 32 MB during
 * start-up (loading modules and the chain allocates a lot at once) and keeps it; on an idle node
 * those pages stayed resident with about 5 MB in use. Capped at 2 × 8 MB. A busy node scavenges
 * more often, which costs little: what survives a scavenge is what it copies, not the space.
 *
 * MALLOC_ARENA_MAX=2 (environment): glibc gives each thread that allocates its own malloc arena
 * (libuv's pool, V8's platform threads, LevelDB's compaction), each keeping freed memory
 * resident. Two arenas are plenty: the JavaScript heap does not use malloc. No effect off glibc.
 *
 * NODE_COMPILE_CACHE (environment): the node runs its TypeScript as Node.js strips the types, and
 * the stripper is a WebAssembly build of swc that, once loaded, stays resident for the life of the
 * process (about 17 MB: its 3.7 MB source, its wasm code and memory). With the compile cache Node.js
 * keeps each module's stripped source and bytecode on disk, checked against the file's contents,
 * and loads neither the stripper nor the parser for a module it has seen before. A node writes
 * the cache once it has started (node/cli/tillid.ts), so every start after the first on a host
 * benefits, the first included when another node or `tillid` command ran the same code before.
 * Here: node_modules/.cache of this checkout, owned like the code it caches; the images keep it
 * in the node's volume (/var/lib/tillid/.compile-cache), the one place their user may write.
 */
import { resolve } from 'node:path';

export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];
export const COMPILE_CACHE = resolve(
  import.meta.dirname,
  '..',
  '..',
  'node_modules',
  '.cache',
  'tillid-compile',
);
export const NODE_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  NODE_COMPILE_CACHE: COMPILE_CACHE,
};
