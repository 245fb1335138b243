import * as z from 'zod/mini';
import { RULES } from './rules/index.ts';
import { MODES } from './types.ts';
import './zod.ts';

/**
 * Guardrail configuration: `cdk.json` context key `guardrail` for deployments, `--config <file>` for
 * the CLI. Validated with zod; an invalid config fails synth with a readable message.
 */

const mode = z.enum(MODES as unknown as ['report', 'approve', 'auto']);
const LAYER_VERSION_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+$/;
const ruleIds = new Set(RULES.map((r) => r.id));
/** The rules whose `auto` mode needs usage evidence (`rules.<id>.minEvidenceDays`). */
const EVIDENCE_RULES = ['IAM.ROLE.ADMIN', 'IAM.ROLE.SERVICE_WILDCARD'];

/** `rate(1 day)`, `rate(12 hours)` (singular unit for 1, plural otherwise) or `cron(<6 fields>)`. */
export function isScheduleExpression(s: string): boolean {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(s);
  if (rate) {
    const n = Number(rate[1]);
    return n >= 1 && (n === 1) === !rate[2].endsWith('s');
  }
  const cron = /^cron\(([^()]+)\)$/.exec(s);
  return !!cron && cron[1].trim().split(/\s+/).length === 6;
}

const ACCOUNT_ID = /^\d{12}$/;
/** An OU id (`ou-abcd-12345678`) or an organization root id (`r-abcd`: every account). */
const OU_OR_ROOT_ID = /^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$/;
/** IAM role names: 1-64 of `\w+=,.@-`. */
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

/**
 * Organization mode (docs/organization.md): one central deployment guards member accounts through
 * service-managed StackSets (forwarding rules and two member roles per account). Off by default.
 */
const organizationSchema = z
  .strictObject({
    enabled: z._default(z.boolean(), false),
    /** The organization id (`o-...`): the central bus policy and the member roles' trust require it. */
    orgId: z.optional(z.string().check(z.regex(/^o-[a-z0-9]{10,32}$/, 'must be an organization id (o-...)'))),
    /** The management account, for reference in docs and reports (never assumed into). */
    managementAccountId: z.optional(z.string().check(z.regex(ACCOUNT_ID, 'must be a 12-digit account id'))),
    /** Deploy the StackSet as a delegated administrator (CallAs DELEGATED_ADMIN) instead of from the management account. */
    delegatedAdmin: z._default(z.boolean(), true),
    /** Names of the roles the StackSet creates in every member account (us-east-1 only: IAM is global). */
    memberRoleNames: z.prefault(
      z.strictObject({
        collector: z._default(
          z.string().check(z.regex(ROLE_NAME, 'must be an IAM role name')),
          'lambda-guardrail-collector',
        ),
        remediation: z._default(
          z.string().check(z.regex(ROLE_NAME, 'must be an IAM role name')),
          'lambda-guardrail-remediation',
        ),
      }),
      {},
    ),
    /**
     * The sts:ExternalId the member roles require. Not a secret in AWS's model (it prevents the
     * confused deputy), but it is never logged or reported.
     */
    externalId: z.optional(
      z
        .string()
        .check(z.regex(/^[\w+=,.@:/-]{2,1224}$/, 'must be 2-1224 of the characters A-Z a-z 0-9 +=,.@:/-_')),
    ),
    /** Where the StackSet deploys: OU ids, or the root id (`r-...`) for every account. */
    targets: z.prefault(
      z.strictObject({
        organizationalUnitIds: z._default(
          z.array(z.string().check(z.regex(OU_OR_ROOT_ID, 'must be an OU id (ou-...) or a root id (r-...)'))),
          [],
        ),
      }),
      {},
    ),
    /** Regions of the member stacks (us-east-1 is where the roles and the IAM rules go). */
    regions: z._default(
      z.array(
        z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be a region name such as us-east-1')),
      ),
      [],
    ),
    /** Accounts whose events are acted on (`allow`, empty: every account) and never (`deny`). */
    accounts: z.prefault(
      z.strictObject({
        allow: z._default(
          z.array(z.string().check(z.regex(ACCOUNT_ID, 'must be a 12-digit account id'))),
          [],
        ),
        deny: z._default(z.array(z.string().check(z.regex(ACCOUNT_ID, 'must be a 12-digit account id'))), []),
      }),
      {},
    ),
    /** The global mode ceiling per account and per OU (the account's nearest OU wins; an account entry beats any OU). */
    modeOverrides: z.prefault(
      z.strictObject({
        accounts: z._default(
          z.record(z.string().check(z.regex(ACCOUNT_ID, 'must be a 12-digit account id')), mode),
          {},
        ),
        ous: z._default(
          z.record(
            z.string().check(z.regex(OU_OR_ROOT_ID, 'must be an OU id (ou-...) or a root id (r-...)')),
            mode,
          ),
          {},
        ),
      }),
      {},
    ),
  })
  .check(
    z.refine((o) => !o.enabled || !!o.orgId, {
      message: 'is required in organization mode',
      path: ['orgId'],
    }),
    z.refine((o) => !o.enabled || !!o.externalId, {
      message: 'is required in organization mode',
      path: ['externalId'],
    }),
    z.refine((o) => !o.enabled || o.targets.organizationalUnitIds.length > 0, {
      message: 'needs at least one OU id (or the root id for every account) in organization mode',
      path: ['targets', 'organizationalUnitIds'],
    }),
    z.refine((o) => !o.enabled || o.regions.length > 0, {
      message: 'needs at least one region in organization mode',
      path: ['regions'],
    }),
    z.refine((o) => o.memberRoleNames.collector !== o.memberRoleNames.remediation, {
      message: 'the collector and remediation roles need different names',
      path: ['memberRoleNames'],
    }),
  );

export const configSchema = z
  .strictObject({
    /**
     * Global ceiling: `report` = dry-run everything, `approve` = nothing is fixed without a person,
     * `auto` = each rule's own mode applies. A per-rule mode can lower a rule's mode below the
     * global one but never raise it above.
     */
    mode: z._default(mode, 'auto'),
    rules: z._default(
      z.record(
        z.string().check(z.refine((id) => ruleIds.has(id), { message: 'unknown rule id' })),
        z.strictObject({
          mode: z.optional(mode),
          /** Evaluate the rule at all (default: true, false for opt-in rules such as LAMBDA.TRACING). */
          enabled: z.optional(z.boolean()),
          /**
           * IAM.ROLE.* rewrites: `mode: auto` is honoured only when the usage evidence covers at least
           * this many days (default 30); otherwise the finding stays `approve` and says why.
           */
          minEvidenceDays: z.optional(
            z
              .number()
              .check(
                z.int('must be a whole number'),
                z.gte(1, 'must be at least 1'),
                z.lte(400, 'at most 400'),
              ),
          ),
        }),
      ),
      {},
    ),
    /** IAM role/user ARNs whose changes never trigger the guardrail (its own roles are always added). */
    excludedPrincipals: z._default(
      z.array(z.string().check(z.regex(/^arn:aws[a-z-]*:(iam|sts)::\d{12}:.+/, 'must be an IAM ARN'))),
      [],
    ),
    /** SSM parameter read at the start of every execution; value `on`/`true` downgrades everything to report. */
    killSwitchParameter: z._default(
      z
        .string()
        .check(z.regex(/^\/[A-Za-z0-9_.\-/]{1,1000}$/, 'must be an SSM parameter name starting with /')),
      '/lambda-guardrail/kill-switch',
    ),
    /** The region the guardrail is deployed in. IAM events only reach EventBridge in us-east-1. */
    homeRegion: z._default(
      z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be a region name such as us-east-1')),
      'us-east-1',
    ),
    /**
     * How often the scheduled sweep re-evaluates every function (EventBridge Scheduler expression):
     * `rate(<n> minute|minutes|hour|hours|day|days)` (singular for 1) or `cron(...)` with six fields.
     */
    sweepSchedule: z._default(
      z
        .string()
        .check(
          z.refine(
            isScheduleExpression,
            'must be an EventBridge Scheduler expression such as rate(1 day), rate(12 hours) or cron(0 6 * * ? *)',
          ),
        ),
      'rate(1 day)',
    ),
    /**
     * Who may decide findings in `approve` mode: each gets their own signed link by email. Empty means
     * nobody can approve, so `approve` findings are only recorded (`approval-required`), never applied.
     */
    approvers: z._default(
      z.array(z.string().check(z.email('must be an email address'), z.maxLength(254))).check(
        z.maxLength(25, 'at most 25 approvers'),
        z.refine(
          (xs) => new Set(xs.map((x) => x.toLowerCase())).size === xs.length,
          'must not repeat an address',
        ),
      ),
      [],
    ),
    /** How long an approval request waits for a decision (the link expiry and the task timeout). */
    approvalTimeoutHours: z._default(
      z.number().check(z.positive('must be positive'), z.lte(720, 'at most 720 hours (30 days)')),
      72,
    ),
    /** The SES identity (verified address) approval emails are sent from; required when approvers are set. */
    approvalSender: z._default(
      z.nullable(z.string().check(z.email('must be an email address'), z.maxLength(254))),
      null,
    ),
    /**
     * IAM.ROLE.* rewrites: usage evidence (IAM last-accessed data). An action or service last used
     * before now - lookbackDays counts as unused. IAM keeps at least 400 days of data.
     */
    iamEvidence: z.prefault(
      z.strictObject({
        lookbackDays: z._default(
          z
            .number()
            .check(
              z.int('must be a whole number'),
              z.gte(1, 'must be at least 1'),
              z.lte(400, 'at most 400'),
            ),
          90,
        ),
      }),
      {},
    ),
    /** LAMBDA.RUNTIME.DEPRECATED: report a runtime this many days before its deprecation date. */
    runtimeDeprecationWarningDays: z._default(
      z
        .number()
        .check(z.int('must be a whole number'), z.gte(0, 'must be 0 or more'), z.lte(3650, 'at most 3650')),
      90,
    ),
    /**
     * LAMBDA.URL.CORS: the origins a function URL may allow (`https://app.example.com`). Empty: CORS
     * findings are reported with no plan.
     */
    allowedCorsOrigins: z._default(
      z
        .array(
          z
            .string()
            .check(
              z.regex(
                /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/,
                'must be an origin such as https://app.example.com (scheme, host, optional port; no * and no path)',
              ),
              z.maxLength(253),
            ),
        )
        .check(z.maxLength(100, 'at most 100 origins')),
      [],
    ),
    /**
     * LAMBDA.VPC.REQUIRED: functions that must run in a VPC, by tag (key -> value, `*` for any value)
     * or by name prefix. Empty: the rule does not apply.
     */
    vpcRequired: z.prefault(
      z.strictObject({
        tags: z._default(
          z.record(z.string().check(z.minLength(1), z.maxLength(128)), z.string().check(z.maxLength(256))),
          {},
        ),
        namePrefixes: z._default(z.array(z.string().check(z.minLength(1), z.maxLength(64))), []),
      }),
      {},
    ),
    /**
     * LAMBDA.LAYER.UNTRUSTED: accounts whose layers are trusted, besides the function's own account
     * and the accounts of `secrets.extensionLayerArns`.
     */
    trustedLayerAccounts: z._default(
      z.array(z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit account id'))),
      [],
    ),
    /** Organization mode (docs/organization.md); off by default (single-account mode). */
    organization: z.prefault(organizationSchema, {}),
    /**
     * LAMBDA.ENV.SECRET remediation (docs/secret-remediation.md): secrets are created as
     * `<namePrefix><function>/<VARIABLE>`, encrypted with `kmsKeyArn` (null: aws/secretsmanager), and
     * the AWS Parameters and Secrets Lambda Extension layer for the function's architecture is added
     * when `extensionLayerArns` names one.
     */
    secrets: z.prefault(
      z.strictObject({
        namePrefix: z._default(
          z
            .string()
            .check(
              z.regex(
                /^[A-Za-z0-9_+=.@-][A-Za-z0-9/_+=.@-]{0,199}$/,
                'must be 1-200 of the characters Secrets Manager allows in names (A-Z a-z 0-9 / _ + = . @ -), not starting with /',
              ),
            ),
          'lambda-guardrail/',
        ),
        kmsKeyArn: z._default(
          z.nullable(
            z
              .string()
              .check(
                z.regex(
                  /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/,
                  'must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias',
                ),
              ),
          ),
          null,
        ),
        extensionLayerArns: z._default(
          z.nullable(
            z.strictObject({
              x86_64: z.optional(z.string().check(z.regex(LAYER_VERSION_ARN, 'must be a layer version ARN'))),
              arm64: z.optional(z.string().check(z.regex(LAYER_VERSION_ARN, 'must be a layer version ARN'))),
            }),
          ),
          null,
        ),
      }),
      {},
    ),
  })
  .check(
    z.refine((c) => !c.approvers?.length || !!c.approvalSender, {
      message: 'is required when approvers are configured',
      path: ['approvalSender'],
    }),
    z.refine(
      (c) =>
        Object.entries(c.rules).every(
          ([id, r]) => r.minEvidenceDays === undefined || EVIDENCE_RULES.includes(id),
        ),
      { message: `minEvidenceDays applies only to ${EVIDENCE_RULES.join(' and ')}`, path: ['rules'] },
    ),
  );

export type GuardrailConfig = z.output<typeof configSchema>;

export class InvalidConfigError extends Error {
  override name = 'InvalidConfigError';
}

export function parseConfig(input: unknown): GuardrailConfig {
  const r = configSchema.safeParse(input ?? {});
  if (!r.success) {
    // zod reports a rejected record key as "Invalid key in record" and keeps the refine's message inside.
    const message = (i: z.core.$ZodIssue) =>
      i.code === 'invalid_key' && i.issues[0] ? i.issues[0].message : i.message;
    const msgs = r.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${message(i)}`);
    throw new InvalidConfigError(`invalid guardrail config: ${msgs.join('; ')}`);
  }
  return r.data;
}

export const DEFAULT_CONFIG: GuardrailConfig = parseConfig({});
