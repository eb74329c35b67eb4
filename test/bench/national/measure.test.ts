/**
 * bench:national reads a node's store size with `du` while the node runs; a node replaces files by
 * rename (its signed-vote log's `.tmp`), so du can list a file that is gone when it stats it. A
 * federated-7 year once failed at month 12 on exactly that ("du: cannot access
 * '…/signed-votes.jsonl.tmp'"): the size must still be read.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { du } from './measure.ts';

test('du reads the size of a folder whose files are being replaced by rename', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tillid-du-'));
  try {
    for (let i = 0; i < 50; i++) writeFileSync(join(dir, `f${i}`), 'x'.repeat(1000));
    // Another process does what the node does: write a .tmp, rename it over the file, again and again.
    const writer = spawn(
      process.execPath,
      [
        '-e',
        `const fs=require('fs');const d=${JSON.stringify(dir)};const end=Date.now()+20000;
         process.stdout.write('go\\n');
         while(Date.now()<end)for(let i=0;i<50;i++){fs.writeFileSync(d+'/f'+i+'.tmp','y'.repeat(1000));fs.renameSync(d+'/f'+i+'.tmp',d+'/f'+i);}`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise((r) => writer.stdout?.once('data', r));
    try {
      for (let k = 0; k < 300; k++) {
        const size = du(dir);
        assert.ok(size >= 50_000, `du gave ${size}`);
      }
    } finally {
      writer.kill();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
