/**
 * Rate limits per calling system, then the service agreement for the route's service: a system
 * calls a service only on behalf of a CVR it has an agreement for (403 NO_SERVICE_AGREEMENT). Both
 * run after authentication, so the key is the system, not an IP.
 */
import rateLimit from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import { ServiceAgreements } from '../authorization.ts';
import { isPublicRoute } from '../components.ts';
import type { GatewayConfig } from '../config.ts';
import { GatewayError } from '../errors.ts';

export const serviceAgreements = fp<{ config: GatewayConfig }>(
  async (app, { config }) => {
    await app.register(rateLimit, {
      global: true,
      hook: 'preHandler',
      max: config.rateLimit.max,
      timeWindow: config.rateLimit.timeWindowMs,
      keyGenerator: (request) => request.caller?.system ?? request.ip,
      allowList: (request) => isPublicRoute(request),
      errorResponseBuilder: (_request, context) =>
        new GatewayError('RATE_LIMITED', `at most ${context.max} calls per ${context.after} per system`),
    });
    const agreements = new ServiceAgreements(config);
    // Runs after the rate limit's preHandler: registered after it.
    app.addHook('preHandler', async (request) => {
      const access = request.routeOptions.config.access;
      // Agreements are between systems; a person in the console acts through the gateway itself.
      if (!request.caller || !access?.service || request.caller.via === 'person') return;
      agreements.check(request.caller, access.service);
    });
  },
  { name: 'tillid-service-agreements', dependencies: ['tillid-authentication'] },
);
