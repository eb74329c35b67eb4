/** Moved to `test/fixtures/contracts.ts` (see test/fixtures/README.md); this path re-exports it for older imports. */
export * from './fixtures/contracts.ts';
