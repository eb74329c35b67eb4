/**
 * What the gateway is built from, and what its plugins agree on: the components `buildGateway`
 * receives, the access a route declares, and the request fields the plugins set. Its own file so
 * that the server and its plugins all import it and none imports another.
 */
import type { FastifyRequest } from 'fastify';
import type { Logger } from '../node/log.ts';
import type { AuditSink } from './audit.ts';
import type { TokenVerifier } from './auth/token.ts';
import type { CaseSystem } from './citizens/case-system.ts';
import type { GatewayConfig, Service } from './config.ts';
import type { EventDelivery } from './events/delivery.ts';
import type { CertificateVerifier, FinalityWatcher } from './finality.ts';
import type { KeyStore } from './keystore.ts';
import type { LogRing } from './log-ring.ts';
import type { NodeRouter } from './routing.ts';
import type { Submitter } from './submission.ts';

export interface GatewayComponents {
  readonly config: GatewayConfig;
  readonly log: Logger;
  readonly keyStore: KeyStore;
  readonly router: NodeRouter;
  readonly verifier: CertificateVerifier;
  readonly finality: FinalityWatcher;
  readonly tokens?: TokenVerifier;
  readonly audit: AuditSink;
  /** PEM material for HTTPS; with `ca`, clients may present certificates (mutual TLS). */
  readonly https?: { readonly key: string; readonly cert: string; readonly ca?: readonly string[] };
  /** The municipality's case system adapter (gateway/citizens): without it there are no citizens' pages. */
  readonly caseSystem?: CaseSystem;
  /** The gateway's recent warnings and errors, fed by its logger (the console's network page shows them). */
  readonly logRing?: LogRing;
  /** The key store passphrase, from which the console's session file key is derived (console.sessionFile). */
  readonly sessionSecret?: string;
}

/** The components plus the submitter the server makes from them, as the plugins receive them. */
export interface PluginComponents extends GatewayComponents {
  readonly submitter: Submitter;
  /** Told of the running event delivery (the metrics plugin samples its channels). */
  readonly onEventDelivery?: (delivery: EventDelivery) => void;
}

/** What a route declares in its `config`: the service it belongs to and the action it performs. */
export interface RouteAccess {
  readonly public?: boolean;
  readonly service?: Service;
  readonly action?: string;
}

/** What a route adds to its audit entry (never personal data). */
export interface AuditNotes {
  actor?: string;
  chainTransaction?: string;
  contract?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    auditNotes: AuditNotes;
    startedAt: number;
    transactionId: string;
    transactionTime?: string;
  }
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}

/**
 * The routes a person logged in to the console (gateway/console) may call with their session
 * cookie rather than a token or certificate: reads that change nothing. The event stream is how a
 * console page follows the chain live; its events are filtered to the person's organisation.
 */
export const PERSON_ROUTES: ReadonlySet<string> = new Set(['/v1/events/stream']);

/** Health, readiness and the OpenAPI pages need no caller, and unknown routes have none. */
export const isPublicRoute = (request: FastifyRequest): boolean =>
  request.routeOptions.config.access?.public === true ||
  request.routeOptions.url === undefined ||
  request.routeOptions.url.startsWith('/docs');

/** Makes every route a plugin registers belong to `service` (agreements and audit apply to it). */
export const serviceRoutes =
  (service: Service, prefix: string) =>
  (route: { method: string | string[]; config?: unknown }): void => {
    const access: RouteAccess = { service, action: `${prefix}.${route.method}` };
    route.config = { ...((route.config as object | undefined) ?? {}), access };
  };
