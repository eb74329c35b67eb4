import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const tempDirPlain = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix));
