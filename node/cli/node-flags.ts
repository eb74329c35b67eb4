/**
 * How a node process is launched, wherever that happens: `tillid network up` (so `npm start`),
 * the node images (docker/node*.Dockerfile, which spell the same settings out) and the test and
 * benchmark launchers (test/fixtures/processes.ts, test/bench/idle.ts). Both settings trim what
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
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];
export const NODE_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };
