/**
 * Image names. Every image `npm run images` builds gets two tags: the release tag
 * `tillid/<name>:<package.json version>`, which generated deployments, bundles and Kubernetes
 * manifests name (and which is transferred to air-gapped hosts), and `tillid/<name>:dev`, which the
 * repository's own docker-compose.yml and the test suites use while developing.
 *
 * TILLID_NODE_IMAGE / TILLID_GATEWAY_IMAGE replace both with one tag of the caller's choosing, so
 * branches sharing one Docker engine do not overwrite each other's images (release tags included).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** package.json's `version`: the project's release. */
export const PROJECT_VERSION: string = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8'),
).version;

export const releaseTag = (name: 'node' | 'gateway' | 'prometheus'): string =>
  `tillid/${name}:${PROJECT_VERSION}`;
export const devTag = (name: 'node' | 'gateway' | 'prometheus'): string => `tillid/${name}:dev`;

export const NODE_RELEASE_IMAGE = releaseTag('node');
export const GATEWAY_RELEASE_IMAGE = releaseTag('gateway');
export const PROMETHEUS_RELEASE_IMAGE = releaseTag('prometheus');
