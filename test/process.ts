/** Moved to `test/fixtures/processes.ts` (see test/fixtures/README.md); this path re-exports it for older imports. */
export * from './fixtures/processes.ts';
