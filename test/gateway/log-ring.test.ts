/**
 * The gateway's recent warnings and errors (gateway/log-ring.ts), as the console's network page
 * shows them: fed by the gateway's real pino logger, bounded, warn and above only, a few fields
 * kept and CPR-like numbers masked; and a person sees only lines about their organisation's nodes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recentFor } from '../../gateway/console/routes-network.ts';
import { LogRing } from '../../gateway/log-ring.ts';
import { gatewayLogger } from '../../gateway/main.ts';

test('the log ring keeps warnings and errors of the gateway’s logger: bounded, masked, a few fields', () => {
  const ring = new LogRing(3);
  const log = gatewayLogger('info', ring, false);
  log.info('started');
  log.warn(
    { node: 'https://node-a:7101', cvr: '29189846', secret: 'hunter2', person: { name: 'Sara' } },
    'a node answered with state that does not verify',
  );
  log
    .child({ component: 'console' })
    .error(
      { err: Object.assign(new Error('case 010203-1234 failed'), { code: 'E_X' }) },
      'console request failed for 0102031234',
    );
  const lines = ring.recent();
  assert.equal(lines.length, 2, 'info is not kept');
  assert.equal(lines[0]?.level, 'error', 'newest first');
  assert.equal(lines[0]?.component, 'console');
  assert.equal(lines[0]?.message, 'console request failed for [skjult]');
  assert.equal(lines[0]?.code, 'E_X');
  assert.deepEqual(
    { ...lines[1], time: undefined },
    {
      time: undefined,
      level: 'warn',
      component: 'gateway',
      message: 'a node answered with state that does not verify',
      node: 'https://node-a:7101',
      cvr: '29189846',
    },
    'only the kept fields: nothing else of the logged object',
  );
  assert.doesNotMatch(JSON.stringify(lines), /hunter2|Sara|010203/);
  for (let i = 0; i < 5; i++) log.warn(`warning ${i}`);
  assert.deepEqual(
    ring.recent().map((l) => l.message),
    ['warning 4', 'warning 3', 'warning 2'],
    'bounded',
  );
});

test('a person sees the lines about no organisation or theirs, and about no node or theirs', () => {
  const ring = new LogRing();
  const log = gatewayLogger('warn', ring, false);
  log.warn('waiting for a node of the network');
  log.warn({ cvr: '29189846' }, 'ours');
  log.warn({ cvr: '11111111' }, 'another municipality');
  log.warn({ node: 'https://ours:7101' }, 'our node');
  log.warn({ node: 'https://theirs:7101' }, 'their node');
  assert.deepEqual(
    recentFor(ring.recent(), '29189846', new Set(['https://ours:7101'])).map((l) => l.message),
    ['our node', 'ours', 'waiting for a node of the network'],
  );
});
