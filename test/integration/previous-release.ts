/**
 * The previous landed release, rebuilt from git for the rolling-upgrade test: its sources come
 * from `git archive <commit>` (CI clones the repository with its full history; nothing is pulled),
 * and its node image is built by THAT commit's own docker/build-images.ts, the way its operators
 * built it. The image is tagged tillid/node:<release>, a tag no other build uses, and is built only
 * when missing: a release's image never changes.
 *
 * The old tree resolves its packages through a symlink to this checkout's node_modules (CI has no
 * registry to install the old lock file from). While package-lock.json is the same in both
 * commits that is exactly the old production tree; `dependenciesDiffer` says when it is not.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerNetworkOptions, InitializedNetwork } from '../../deploy/init.ts';

const ROOT = join(import.meta.dirname, '..', '..');

export interface Release {
  /** The commit that landed it. */
  readonly commit: string;
  /** Its software version (package.json then). */
  readonly version: string;
  /** The tag its node image gets here. */
  readonly image: string;
}

/** Stop 18, the last landed before this one. */
export const PREVIOUS_RELEASE: Release = {
  commit: '671abef',
  version: '0.1.0',
  image: 'tillid/node:0.1.0-stop18',
};

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 64 << 20, timeout: 900_000 });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr || r.stdout || r.error}`);
  return r.stdout;
}

export interface PreviousTree {
  readonly dir: string;
  /** The release's own deploy/init.ts, which wrote its operators' node directories. */
  readonly init: (o: ContainerNetworkOptions) => Promise<InitializedNetwork>;
  readonly dependenciesDiffer: boolean;
  remove(): void;
}

/** The release's sources in a temporary directory (its image built there when missing). */
export async function previousRelease(release = PREVIOUS_RELEASE): Promise<PreviousTree> {
  const dir = mkdtempSync(join(tmpdir(), 'tillid-release-'));
  try {
    const archive = join(dir, 'src.tar');
    run('git', ['-C', ROOT, 'archive', '--format=tar', '-o', archive, release.commit]);
    run('tar', ['-xf', archive, '-C', dir]);
    rmSync(archive);
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    if (spawnSync('docker', ['image', 'inspect', release.image], { stdio: 'ignore' }).status !== 0) {
      console.error(`building ${release.image} from ${release.commit} with its own docker/build-images.ts`);
      run(process.execPath, [join(dir, 'docker/build-images.ts'), '--only', 'node'], {
        ...process.env,
        TILLID_NODE_IMAGE: release.image,
      });
    }
    // The installed packages of both lock files, without the project's own entry (its version moves).
    const packages = (lock: string) => {
      const { '': _self, ...rest } = JSON.parse(lock).packages;
      return JSON.stringify(rest);
    };
    const dependenciesDiffer =
      packages(run('git', ['-C', ROOT, 'show', `${release.commit}:package-lock.json`])) !==
      packages(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
    const module = (await import(join(dir, 'deploy/init.ts'))) as {
      initContainerNetwork: PreviousTree['init'];
    };
    return {
      dir,
      init: module.initContainerNetwork,
      dependenciesDiffer,
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
