/**
 * The Node.js flags a node process runs with, wherever it is launched: `tillid network up` (so
 * `npm start`), the node images' ENTRYPOINT (docker/node*.Dockerfile, which spell the same flags
 * out) and the test and benchmark launchers (test/fixtures/processes.ts, test/bench/idle.ts).
 *
 * --max-semi-space-size=8: V8 grows the young generation to 2 × 32 MB during start-up (loading
 * modules and the chain allocates a lot at once) and keeps it: on an idle node those 64 MB were
 * resident with about 5 MB in use. Capped at 2 × 8 MB, a node idles about 40 MB smaller; a
 * busy one scavenges more often, which `npm run bench:node` measures (README, "Idle cost").
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];
