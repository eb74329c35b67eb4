/** Runs the real `tillid` CLI as child processes, as an operator would. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const CLI = join(import.meta.dirname, '..', 'node', 'cli', 'tillid.ts');
const run = promisify(execFile);

/** Runs `tillid <args>` to completion; never throws on a non-zero exit. */
export async function tillid(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === 'number' ? err.code : 1,
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? '',
    };
  }
}

export interface NodeProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
}

/** Starts `tillid node start --config <file>` and resolves once its API listens. */
export function startNodeProcess(config: string): Promise<NodeProcess> {
  const child = spawn(process.execPath, [CLI, 'node', 'start', '--config', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let buffer = '';
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    child.stdout?.on('data', (chunk) => {
      buffer += chunk;
      for (const line of buffer.split('\n')) {
        if (!line.includes('"node started"')) continue;
        resolve({ child, url: JSON.parse(line).url, exited });
      }
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
    });
    exited.then((code) => reject(new Error(`node exited with ${code} before listening: ${stderr}`)));
  });
}

export async function stopNodeProcess(node: NodeProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (node.child.exitCode !== null || node.child.signalCode !== null) return;
  node.child.kill(signal);
  await node.exited;
}

/** Sets a node config's API port (0 picks a free one). */
export function setPort(config: string, port: number): void {
  const parsed = JSON.parse(readFileSync(config, 'utf8'));
  parsed.api.port = port;
  parsed.blockIntervalMs = 100;
  writeFileSync(config, JSON.stringify(parsed));
}

/**
 * `tillid network init` for `n` municipalities ("Kommune 01", …) in `dir`, API ports from
 * `basePort` and p2p ports from `basePort + 100`. Returns the node config files in node order.
 */
export async function initNetworkDir(
  dir: string,
  n: number,
  chainId: string,
  basePort: number,
  extraArgs: readonly string[] = [],
): Promise<string[]> {
  const { readdirSync } = await import('node:fs');
  const municipalities = Array.from({ length: n }, (_, i) => [
    '--municipality',
    `Kommune ${String(i + 1).padStart(2, '0')}:${29189846 + i}`,
  ]).flat();
  const init = await tillid([
    'network',
    'init',
    '--out',
    dir,
    '--chain-id',
    chainId,
    '--base-port',
    String(basePort),
    ...municipalities,
    ...extraArgs,
  ]);
  if (init.code !== 0) throw new Error(`network init failed: ${init.stderr}`);
  return readdirSync(dir)
    .filter((f) => f !== 'genesis.json')
    .sort()
    .map((d) => join(dir, d, 'config.json'));
}

/** Applies `change` to each JSON config file. */
export function editConfigs(configs: readonly string[], change: (config: Record<string, any>) => void): void {
  for (const file of configs) {
    const config = JSON.parse(readFileSync(file, 'utf8'));
    change(config);
    writeFileSync(file, JSON.stringify(config, null, 2));
  }
}

/**
 * A network for tests: fast blocks, short timeouts, and a base port derived from the process id
 * so concurrent test files do not collide.
 */
export async function initLocalNetwork(
  dir: string,
  n: number,
  chainId: string,
  portOffset = 0,
  extraArgs: readonly string[] = [],
): Promise<string[]> {
  const configs = await initNetworkDir(
    dir,
    n,
    chainId,
    20_000 + (process.pid % 400) * 25 + portOffset,
    extraArgs,
  );
  editConfigs(configs, (config) => {
    config.blockIntervalMs = 100;
    config.timeouts = { proposeMs: 1000, prevoteMs: 500, precommitMs: 500, perRoundMs: 250 };
  });
  return configs;
}
