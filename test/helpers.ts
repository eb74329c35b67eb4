/** Moved to `test/fixtures/node.ts` (see test/fixtures/README.md); this path re-exports it for older imports. */
export * from './fixtures/node.ts';
