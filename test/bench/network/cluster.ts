/**
 * bench:network's node processes: started by the real CLI, watched (a node that exits during the
 * run aborts it), and never left behind — killed on exit, on a signal, on an error or at the
 * overall timeout, and the temporary network directory removed. (Only a SIGKILL of the bench
 * itself can orphan the nodes; `kill` them by the pids it logs.)
 */
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type NodeProcess, startNodeProcess, stopNodeProcess } from '../../process.ts';

export class Cluster {
  readonly nodes: NodeProcess[] = [];
  #dir: string | undefined;
  #stopping = false;

  /** Owns `dir` (removed at the end) and kills everything after `timeoutS` seconds. */
  constructor(dir: string, timeoutS: number) {
    this.#dir = dir;
    process.on('exit', () => this.killAll());
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(signal, () => {
        console.error(`${signal}: killing the nodes`);
        this.killAll();
        process.exit(130);
      });
    }
    setTimeout(() => {
      console.error(`bench:network: overall timeout of ${timeoutS} s; killing the nodes`);
      this.killAll();
      process.exit(2);
    }, timeoutS * 1000).unref();
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /** One node per config; `cpuProf` keeps --cpu-prof profiles there, `logDir` each node's output. */
  async start(configs: readonly string[], cpuProf?: string, logDir?: string): Promise<void> {
    if (cpuProf) {
      const profDir = resolve(cpuProf);
      mkdirSync(profDir, { recursive: true });
      process.env.NODE_OPTIONS =
        `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${profDir}`.trim();
    }
    const starting = configs.map((c) => startNodeProcess(c));
    // Registered before awaiting, so an error starting one node still kills the others.
    for (const s of starting) void s.then((n) => this.nodes.push(n)).catch(() => {});
    const started = await Promise.all(starting);
    this.nodes.splice(0, this.nodes.length, ...started);
    if (cpuProf) delete process.env.NODE_OPTIONS;
    if (logDir) {
      mkdirSync(logDir, { recursive: true });
      this.nodes.forEach((n, i) => {
        const file = join(logDir, `node-${i + 1}.log`);
        writeFileSync(file, '');
        n.child.stdout?.on('data', (d) => appendFileSync(file, d));
        n.child.stderr?.on('data', (d) => appendFileSync(file, d));
      });
    }
    this.nodes.forEach((n, i) => {
      void n.exited.then((code) => {
        if (this.#stopping) return;
        console.error(`node ${i + 1} exited (${code}) during the run; aborting`);
        this.killAll();
        process.exit(1);
      });
    });
  }

  /** Stops every node (SIGKILL after 15 s); resolves to each one's exit signal or code. */
  async stop(): Promise<(string | number | null)[]> {
    this.#stopping = true;
    const exits = await Promise.all(
      this.nodes.map(async (n) => {
        const timer = setTimeout(() => n.child.kill('SIGKILL'), 15_000);
        await stopNodeProcess(n);
        clearTimeout(timer);
        return n.child.signalCode ?? n.child.exitCode;
      }),
    );
    this.killAll();
    return exits;
  }

  killAll(): void {
    this.#stopping = true;
    for (const n of this.nodes)
      if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }
}
