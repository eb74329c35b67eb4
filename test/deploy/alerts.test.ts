/**
 * The alert rules shipped with Prometheus (deploy/monitoring/alerts.yml), unit-tested with
 * `promtool test rules` against deploy/monitoring/alerts.test.yml: every alert fires on the series
 * it is written for, with the labels and text an operator sees, and stays quiet on healthy ones.
 * promtool comes with Debian's `prometheus` package (.ci/run installs it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const DIR = join(import.meta.dirname, '../../deploy/monitoring');

function promtool(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8', cwd: DIR });
  if (r.error)
    throw new Error(
      `promtool is not installed (${r.error.message}); as root on Debian: apt-get install -y --no-install-recommends prometheus`,
    );
  return { code: r.status, out: r.stdout + r.stderr };
}

const alertNames = (text: string, pattern: RegExp) => new Set([...text.matchAll(pattern)].map((m) => m[1]));

test('the rules load and pass their promtool unit tests', () => {
  const check = promtool('check', 'rules', 'alerts.yml');
  assert.equal(check.code, 0, check.out);
  const run = promtool('test', 'rules', 'alerts.test.yml');
  assert.equal(run.code, 0, run.out);
  assert.match(run.out, /SUCCESS/);
});

test('every alert the issue asks for exists and has a unit test', () => {
  const rules = readFileSync(join(DIR, 'alerts.yml'), 'utf8');
  const tests = readFileSync(join(DIR, 'alerts.test.yml'), 'utf8');
  const defined = alertNames(rules, /- alert: (\w+)/g);
  for (const name of [
    'TillidNodeDown',
    'TillidNoFinalizedBlock',
    'TillidPeersBelowQuorum',
    'TillidRoundChangesSpiking',
    'TillidMempoolNearFull',
    'TillidDiskNearlyFull',
    'TillidEventDeliveryLagging',
    'TillidGatewayAuthFailures',
  ])
    assert.ok(defined.has(name), `${name} is missing from alerts.yml`);
  const tested = alertNames(tests, /alertname: (\w+)/g);
  for (const name of defined) assert.ok(tested.has(name), `${name} has no case in alerts.test.yml`);
});

test('the unit tests catch a rule that would alert too late', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tillid-alerts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(join(DIR, 'alerts.test.yml'), join(dir, 'alerts.test.yml'));
  const rules = readFileSync(join(DIR, 'alerts.yml'), 'utf8');
  const slower = rules.replace(/(alert: TillidNodeDown\n\s+expr: .*\n\s+for: )30s/, '$110m');
  assert.notEqual(slower, rules);
  writeFileSync(join(dir, 'alerts.yml'), slower);
  const r = spawnSync('promtool', ['test', 'rules', 'alerts.test.yml'], { encoding: 'utf8', cwd: dir });
  assert.notEqual(r.status, 0);
  assert.match(r.stdout + r.stderr, /TillidNodeDown/);
});
