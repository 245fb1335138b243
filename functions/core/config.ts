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
