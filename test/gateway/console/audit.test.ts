/**
 * The auditor's and operator's pure parts: the document check against a commitment (match,
 * mismatch, a commitment this gateway never stored, an erased document — also after the store is
 * reopened), the timeline shown escaped, and a node's fault counters read from /metrics text.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Caller } from '../../../gateway/caller.ts';
import { timelineTable } from '../../../gateway/console/pages/audit.ts';
import { countersOf } from '../../../gateway/console/pages/network.ts';
import { FileDocumentStore } from '../../../gateway/documents/file-store.ts';
import { DocumentService } from '../../../gateway/documents/service.ts';
import { tempDir } from '../../fixtures/node.ts';

const caller = (cvr: string): Caller => ({
  system: `urn:test:system:${cvr}`,
  cvr,
  privileges: [],
  via: 'person',
  transactionId: randomUUID(),
});
const OWNER = caller('29189846');

test('a file matches the commitment it was stored under, and nothing else does', async (t) => {
  const dir = tempDir(t);
  const open = () => FileDocumentStore.open({ dir: join(dir, 'docs') });
  const service = (store: FileDocumentStore) =>
    new DocumentService({
      store,
      authorize: (who, _action, doc) => who.cvr === doc.owner,
      erasureLog: join(dir, 'erasures.jsonl'),
    });
  const documents = service(await open());
  const report = Buffer.from('Statusrapport for marts');
  const { meta } = await documents.upload(OWNER, { bytes: report, docType: 'status-report' });

  assert.equal((await documents.check(OWNER, meta.commitment, report)).verdict, 'match');
  assert.equal(
    (await documents.check(OWNER, meta.commitment, Buffer.from('Statusrapport for april'))).verdict,
    'mismatch',
  );
  assert.equal((await documents.check(OWNER, 'ab'.repeat(32), report)).verdict, 'unknown');
  // Someone who may not read the document learns nothing from the check.
  await assert.rejects(documents.check(caller('12345678'), meta.commitment, report), {
    code: 'DOCUMENT_FORBIDDEN',
  });

  // The index of commitments survives a restart; an erased document can no longer be matched.
  const reopened = service(await open());
  assert.equal((await reopened.check(OWNER, meta.commitment, report)).verdict, 'match');
  await reopened.erase(OWNER, meta.id);
  assert.equal((await reopened.check(OWNER, meta.commitment, report)).verdict, 'erased');
});

test('the timeline says who approved in which role at which height, escaped', () => {
  const out = timelineTable([
    { id: '7-0', height: 7, type: 'contract.proposed', action: 'activate', motion: 'ab'.repeat(32) },
    {
      id: '9-1',
      height: 9,
      type: 'contract.approved',
      action: 'activate',
      role: 'centre-chief',
      cvr: '29189846',
      actor: 'cd'.repeat(32),
    },
    { id: '9-2', height: 9, type: '<script>x</script>', role: '<b>r</b>' },
  ]).value;
  assert.match(
    out,
    /<tr><td>9<\/td><td>godkendelse<\/td><td>aktivering, af <strong>centerchef<\/strong> \(CVR 29189846\), aktør <code>cdcdcdcdcdcd<\/code><\/td><\/tr>/,
  );
  assert.match(out, /&lt;script&gt;x&lt;\/script&gt;/);
  assert.match(out, /&lt;b&gt;r&lt;\/b&gt;/);
  assert.doesNotMatch(out, /<script>|<b>r/);
});

test("a node's fault counters are summed over labels; absent ones stay absent", () => {
  const text = [
    '# HELP tillid_consensus_round_changes_total Round changes',
    '# TYPE tillid_consensus_round_changes_total counter',
    'tillid_consensus_round_changes_total 3',
    'tillid_sync_blocks_rejected_total{reason="signature"} 2',
    'tillid_sync_blocks_rejected_total{reason="height"} 1',
    'tillid_chain_height 40',
  ].join('\n');
  assert.deepEqual(countersOf(text), {
    tillid_consensus_round_changes_total: 3,
    tillid_sync_blocks_rejected_total: 3,
  });
});
