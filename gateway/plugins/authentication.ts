/**
 * Authentication: a bearer token from the municipal token service if one is sent, else a client
 * certificate (mutual TLS). Sets `request.caller`; every later step works from it, never from raw
 * headers. Public routes (health, docs) are left alone.
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { certificatePrivileges, identityFromCertificate } from '../auth/certificate.ts';
import type { TokenVerifier } from '../auth/token.ts';
import type { Caller } from '../caller.ts';
import { isPublicRoute, PERSON_ROUTES } from '../components.ts';
import type { GatewayConfig } from '../config.ts';
import { GatewayError } from '../errors.ts';

export interface AuthenticationOptions {
  readonly config: GatewayConfig;
  readonly tokens?: TokenVerifier | undefined;
  /** The console's sessions: a logged-in person, for the few routes people may call (PERSON_ROUTES). */
  readonly people?: ((request: FastifyRequest) => Caller | undefined) | undefined;
}

export const authentication = fp<AuthenticationOptions>(
  async (app, { config, tokens, people }) => {
    app.addHook('onRequest', async (request) => {
      if (isPublicRoute(request)) return;
      const base = {
        transactionId: request.transactionId,
        ...(request.transactionTime ? { transactionTime: request.transactionTime } : {}),
      };
      const authorization = request.headers.authorization;
      if (authorization !== undefined) {
        const match = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(authorization);
        if (!match) throw new GatewayError('TOKEN_INVALID', 'send Authorization: Bearer <token>');
        if (!tokens) throw new GatewayError('TOKEN_INVALID', 'this gateway does not accept tokens');
        const verified = await tokens.verify(match[1] as string);
        request.caller = { ...verified, via: 'token', ...base } satisfies Caller;
        return;
      }
      const socket = request.raw.socket as TLSSocket;
      const peer =
        typeof socket.getPeerX509Certificate === 'function' ? socket.getPeerX509Certificate() : undefined;
      if (peer) {
        if (!socket.authorized)
          throw new GatewayError(
            'CERT_UNTRUSTED',
            `the client certificate is not trusted (${socket.authorizationError})`,
          );
        const identity = identityFromCertificate(new X509Certificate(peer.raw));
        request.caller = {
          ...identity,
          privileges: certificatePrivileges(identity, config),
          via: 'certificate',
          ...base,
        } satisfies Caller;
        return;
      }
      const person =
        people && request.method === 'GET' && PERSON_ROUTES.has(request.routeOptions.url ?? '')
          ? people(request)
          : undefined;
      if (person) {
        request.caller = person;
        return;
      }
      throw new GatewayError('AUTH_REQUIRED', 'authenticate with a bearer token or a client certificate');
    });
  },
  { name: 'tillid-authentication', dependencies: ['tillid-transaction-id'] },
);
