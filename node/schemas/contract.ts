/**
 * The payload of every `contract.*` transaction, defined once. The node validates with these at
 * admission and in every block (`state/contracts/actions/`), and the gateway derives its request
 * bodies from them (`gateway/routes/contracts*.ts`). Rules that need more than a schema — a date
 * that exists, codes unique in a list, a policy's meaning — stay in the actions.
 */
import { Type } from '@sinclair/typebox';
import { Acting, CalendarDate, Code, Cvr, Hash, Integer, Kle } from './common.ts';
import { LIMITS, type PayloadLimits } from './limits.ts';

export const MOTION_ACTIONS = ['activate', 'amend', 'suspend', 'resume', 'terminate'] as const;

const object = <P extends Parameters<typeof Type.Object>[0]>(properties: P, description?: string) =>
  Type.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) });

/** The schemas of the contract payloads under `limits` (the protocol's by default). */
export function contractSchemas(limits: PayloadLimits = LIMITS) {
  const lineItems = Type.Array(
    object({
      code: Code,
      monthly: Integer(1, limits.maxMonthly, 'øre per month'),
      until: Type.Optional(CalendarDate),
    }),
    {
      minItems: 1,
      maxItems: limits.maxItems,
      description: `1-${limits.maxItems} line items`,
    },
  );
  const months = Integer(1, limits.maxMonths, 'how many months the contract runs');
  const reportEveryMonths = Integer(
    0,
    limits.maxReportEveryMonths,
    'a status report every n months (0: none)',
  );
  const policy = Type.Record(Type.String(), Type.Unknown(), {
    description: 'an approval policy (node/state/contracts/README.md)',
  });
  return {
    defineTemplate: object({
      as: Acting,
      code: Code,
      policies: object(
        Object.fromEntries(MOTION_ACTIONS.map((a) => [a, policy])) as Record<
          (typeof MOTION_ACTIONS)[number],
          typeof policy
        >,
        'a policy for each action',
      ),
      releaseWithheldOnReport: Type.Boolean(),
      approvalLifetimeDays: Integer(1, limits.maxApprovalLifetimeDays, 'business days a motion stays open'),
    }),
    create: object({
      as: Acting,
      template: Type.String({
        pattern: '^\\d{8}/[a-z][a-z0-9-]{0,31}$',
        description: 'a template id: <municipality CVR>/<code>',
      }),
      provider: Cvr,
      start: CalendarDate,
      months: Type.Optional(months),
      items: lineItems,
      reportEveryMonths,
      parent: Type.Optional(Hash),
      onParentEnd: Type.Optional(Type.Union([Type.Literal('terminate'), Type.Literal('suspend')])),
      kle: Type.Optional(Kle),
      document: Type.Optional(Hash),
      // A pseudonym of the municipality's case (the gateway's HMAC of its case number under a
      // per-municipality secret), so one child's contracts can be found together; never the number.
      caseRef: Type.Optional(Hash),
    }),
    propose: object({
      as: Acting,
      contract: Hash,
      action: Type.Union(MOTION_ACTIONS.map((a) => Type.Literal(a))),
      changes: Type.Optional(
        Type.Object(
          {
            items: Type.Optional(lineItems),
            months: Type.Optional(Type.Union([months, Type.Null()])),
            reportEveryMonths: Type.Optional(reportEveryMonths),
          },
          { additionalProperties: false, minProperties: 1, description: 'amend only: the new terms' },
        ),
      ),
      reason: Type.Optional(Code),
      document: Type.Optional(Hash),
      cosignatures: Type.Optional(
        Type.Array(
          object({
            as: Acting,
            publicKey: Hash,
            signature: Type.String({ pattern: '^[0-9a-f]{128}$', description: '64 bytes of hex' }),
          }),
          { minItems: 1, maxItems: limits.maxCosignatures },
        ),
      ),
    }),
    approve: object({ as: Acting, motion: Hash }),
    report: object({
      as: Acting,
      contract: Hash,
      period: Integer(1, limits.maxMonths, 'the reporting period (month of the contract)'),
      document: Hash,
    }),
  };
}

export type ContractSchemas = ReturnType<typeof contractSchemas>;
