import { createHash } from 'node:crypto';
import type { GuardrailConfig } from '../config.ts';
import { parseSecretMarker, REDACTED } from '../redact.ts';
import { detectSecret } from '../secrets/detect.ts';
import type { Confidence } from '../secrets/types.ts';
import { functionArnOf, functionConfiguration } from '../snapshot.ts';
import type { PlanStep, Precondition, RawFinding, Rule, Severity, Snapshot } from '../types.ts';

/**
 * LAMBDA.ENV.SECRET: plaintext credentials in a function's environment variables. Anyone who can read
 * the function's configuration (lambda:GetFunctionConfiguration, the console, CloudFormation
 * templates) can read them. The fix moves each value to Secrets Manager without the value ever
 * appearing in the plan, the workflow payloads, the ledger or any output: the plan refers to it by
 * its source (`{"fromEnvironment": "DB_PASSWORD"}`) and the executor reads it at apply time.
 *
 * Detection reads the markers redaction leaves (`[redacted:<detector>:<confidence>:<fingerprint>]`,
 * see core/redact.ts) and runs the detector on plain values (a snapshot someone built by hand).
 * docs/secret-remediation.md describes the plan, the recovery and the rollback.
 */

export const RULE_ID = 'LAMBDA.ENV.SECRET';

/** The `secrets` block of the configuration (core/config.ts validates it). */
export type SecretsSettings = GuardrailConfig['secrets'];

/** The configuration's defaults (a test keeps them equal); used when a caller passes no config. */
export const DEFAULT_SECRETS_SETTINGS: SecretsSettings = {
  namePrefix: 'lambda-guardrail/',
  kmsKeyArn: null,
  extensionLayerArns: null,
};

/** Tag keys of the secrets the fix creates (and of nothing else). */
export const SECRET_TAGS = {
  sourceFunction: 'lambda-guardrail:source-function',
  sourceVariable: 'lambda-guardrail:source-variable',
  rule: 'lambda-guardrail:rule',
  detector: 'lambda-guardrail:detector',
  fingerprint: 'lambda-guardrail:fingerprint',
} as const;

/** The variable the function reads after the move: `<NAME>_SECRET_ARN`. */
export const arnVariable = (name: string) => `${name}_SECRET_ARN`;

/** Prefix of the inline policies the fix adds to execution roles (one per moved secret). */
export const POLICY_NAME_PREFIX = 'lambda-guardrail-secret-';

const IAM_POLICY_NAME_MAX = 128;
const SECRET_NAME_MAX = 512;
const MAX_LAYERS = 5;

/** `<prefix><function>/<VARIABLE>`: only characters Secrets Manager allows, never ending in `-xxxxxx`. */
export const secretName = (settings: SecretsSettings, functionName: string, variable: string) =>
  `${settings.namePrefix}${functionName}/${variable}`;

/** A valid IAM policy name (`[\w+=,.@-]`, at most 128), stable for a function and variable. */
export function rolePolicyName(functionName: string, variable: string): string {
  const full = `${POLICY_NAME_PREFIX}${functionName}-${variable}`.replace(/[^\w+=,.@-]/g, '_');
  if (full.length <= IAM_POLICY_NAME_MAX) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 10);
  return `${full.slice(0, IAM_POLICY_NAME_MAX - hash.length - 1)}-${hash}`;
}

export interface SecretVariable {
  name: string;
  detector: string;
  confidence: Confidence;
  /** Keyed fingerprint of the value (`hmac-sha256:...`), or null when the snapshot held the plain value and no key was given. */
  fingerprint: string | null;
}

/** The variables that hold secrets, from markers or by running the detector on plain values. Never a value. */
export function secretVariables(vars: Record<string, unknown>): SecretVariable[] {
  const out: SecretVariable[] = [];
  for (const [name, value] of Object.entries(vars)) {
    const marker = parseSecretMarker(value);
    if (marker) {
      out.push({ name, ...marker });
      continue;
    }
    if (typeof value !== 'string' || value === REDACTED) continue;
    const d = detectSecret(name, value);
    if (d) out.push({ name, detector: d.detector, confidence: d.confidence, fingerprint: null });
  }
  return out;
}

/** Role name and account of an execution role ARN (`arn:aws:iam::123:role/service-role/x` -> `x`). */
function roleOf(roleArn: string | undefined): { name: string; account: string } | undefined {
  const m = roleArn ? /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:.*\/)?([\w+=,.@-]{1,64})$/.exec(roleArn) : null;
  return m ? { account: m[1], name: m[2] } : undefined;
}

const layerName = (arn: string) => arn.replace(/:\d+$/, '');

/** The extension layer to add, or why not (no layer configured for the architecture, already there, too many layers). */
function extensionLayer(
  settings: SecretsSettings,
  architectures: string[] | undefined,
  layers: string[],
): { add?: string; note?: string } {
  const arch = architectures?.[0] === 'arm64' ? 'arm64' : 'x86_64';
  const wanted = settings.extensionLayerArns?.[arch];
  if (!settings.extensionLayerArns) return {};
  if (!wanted) return { note: `no extension layer is configured for ${arch}; none added` };
  if (layers.some((l) => layerName(l) === layerName(wanted)))
    return { note: 'the function already has the Parameters and Secrets extension layer' };
  if (layers.length >= MAX_LAYERS)
    return { note: `the function already has ${MAX_LAYERS} layers; none added` };
  return { add: wanted };
}

function plan(
  s: Snapshot,
  moved: SecretVariable[],
  settings: SecretsSettings,
  role: { name: string },
): { steps: PlanStep[]; preconditions: Precondition[]; notes: string[] } {
  const config = functionConfiguration(s)!;
  const fn = config.FunctionName;
  const fnArn = functionArnOf(s) ?? config.FunctionArn;
  const kms = settings.kmsKeyArn;
  const notes: string[] = [];
  const steps: PlanStep[] = [];
  for (const v of moved) {
    const name = secretName(settings, fn, v.name);
    steps.push({
      service: 'secretsmanager',
      operation: 'CreateSecret',
      parameters: {
        Name: name,
        Description: `Moved by Lambda Guardrail (${RULE_ID}) from the environment variable ${v.name} of ${fnArn}`,
        SecretString: { fromEnvironment: v.name },
        ...(kms ? { KmsKeyId: kms } : {}),
        Tags: [
          { Key: SECRET_TAGS.sourceFunction, Value: fnArn },
          { Key: SECRET_TAGS.sourceVariable, Value: v.name },
          { Key: SECRET_TAGS.rule, Value: RULE_ID },
          { Key: SECRET_TAGS.detector, Value: v.detector },
          ...(v.fingerprint ? [{ Key: SECRET_TAGS.fingerprint, Value: v.fingerprint }] : []),
        ],
      },
      reason: `store the value of ${v.name} (${v.detector}) in Secrets Manager, encrypted with ${kms ?? 'aws/secretsmanager'}`,
      inverse: {
        service: 'secretsmanager',
        operation: 'DeleteSecret',
        parameters: { SecretId: { fromSecretArn: name }, ForceDeleteWithoutRecovery: true },
        reason: `delete the secret ${name} (the value is back in the environment)`,
      },
    });
  }
  for (const v of moved) {
    const name = secretName(settings, fn, v.name);
    const policyName = rolePolicyName(fn, v.name);
    steps.push({
      service: 'iam',
      operation: 'PutRolePolicy',
      parameters: {
        RoleName: role.name,
        PolicyName: policyName,
        PolicyDocument: {
          jsonOf: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'ReadMovedSecret',
                Effect: 'Allow',
                Action: 'secretsmanager:GetSecretValue',
                Resource: { fromSecretArn: name },
              },
              ...(kms
                ? [
                    {
                      Sid: 'DecryptMovedSecret',
                      Effect: 'Allow',
                      Action: 'kms:Decrypt',
                      Resource: kms,
                      Condition: {
                        StringEquals: { 'kms:EncryptionContext:SecretARN': { fromSecretArn: name } },
                      },
                    },
                  ]
                : []),
            ],
          },
        },
      },
      reason: `let the execution role ${role.name} read exactly the secret ${name}${kms ? ' (and decrypt it with the configured key, for that secret only)' : ''}`,
      inverse: {
        service: 'iam',
        operation: 'DeleteRolePolicy',
        parameters: { RoleName: role.name, PolicyName: policyName },
        reason: `remove the inline policy ${policyName} from ${role.name}`,
      },
    });
  }
  const layers = (config.Layers as { Arn: string }[] | undefined)?.map((l) => l.Arn) ?? [];
  const layer = extensionLayer(settings, config.Architectures as string[] | undefined, layers);
  if (layer.note) notes.push(layer.note);
  const removed = moved.map((v) => v.name);
  steps.push({
    service: 'lambda',
    operation: 'UpdateFunctionConfiguration',
    parameters: {
      FunctionName: fn,
      ...(config.RevisionId ? { RevisionId: config.RevisionId } : {}),
      Environment: {
        Variables: {
          fromEnvironmentWith: {
            remove: removed,
            set: Object.fromEntries(
              moved.map((v) => [arnVariable(v.name), { fromSecretArn: secretName(settings, fn, v.name) }]),
            ),
          },
        },
      },
      ...(layer.add ? { Layers: [...layers, layer.add] } : {}),
    },
    reason: `replace ${removed.join(', ')} with ${removed.map(arnVariable).join(', ')} (every other variable unchanged)${
      layer.add ? ' and add the AWS Parameters and Secrets Lambda Extension layer' : ''
    }`,
    inverse: {
      service: 'lambda',
      operation: 'UpdateFunctionConfiguration',
      parameters: {
        FunctionName: fn,
        RevisionId: { fromFunctionRevision: { FunctionName: fn } },
        Environment: {
          Variables: {
            fromEnvironmentWith: {
              remove: removed.map(arnVariable),
              set: Object.fromEntries(
                moved.map((v) => [
                  v.name,
                  { fromSecretValue: { fromSecretArn: secretName(settings, fn, v.name) } },
                ]),
              ),
            },
          },
        },
        ...(layer.add ? { Layers: layers } : {}),
      },
      reason: `put ${removed.join(', ')} back from Secrets Manager and remove ${removed.map(arnVariable).join(', ')}`,
    },
  });
  const preconditions: Precondition[] = config.RevisionId
    ? [
        {
          read: 'GetFunctionConfiguration',
          path: 'RevisionId',
          equals: config.RevisionId,
          description: `the configuration of ${fn} is unchanged`,
        },
      ]
    : [];
  return { steps, preconditions, notes };
}

const PUBLISHED_VERSIONS =
  'Published versions keep their configuration, including the old value: after the move, rotate the secret (change the credential at its source, then PutSecretValue) and delete old versions that hold it.';

export const lambdaEnvSecret: Rule = {
  id: RULE_ID,
  title: 'Secret in a Lambda environment variable',
  severity: 'HIGH',
  rationale:
    'Environment variable values are plain text to anyone who can read the function configuration (lambda:GetFunctionConfiguration, ' +
    'the console, CloudFormation templates and drift reports). Credentials belong in Secrets Manager, read by the execution role only.',
  knownFalsePositives: [
    'Values the detector mistakes for credentials (random-looking identifiers under secret-sounding names). Exempt the function by tag, with a reason and an expiry.',
    'Deliberately public keys or test credentials of a sandbox. Exempt them by tag.',
  ],
  triggers: [{ service: 'lambda', actions: ['CreateFunction', 'UpdateFunctionConfiguration'] }],
  resource: 'function',
  // The function's code must change to read <NAME>_SECRET_ARN: a person decides when.
  defaultMode: 'approve',
  fix: 'CreateSecret per variable (value by reference), PutRolePolicy granting the execution role GetSecretValue on exactly that secret, then UpdateFunctionConfiguration replacing each variable with <NAME>_SECRET_ARN (all others unchanged, RevisionId passed). All or nothing.',
  evaluate(s, ctx) {
    const config = functionConfiguration(s);
    if (!config) return { status: 'NOT_APPLICABLE', reason: 'no function configuration in the snapshot' };
    // A customer-managed environment key the reader may not use: Lambda returns an error, no values.
    const envError = (config.Environment as { Error?: { ErrorCode?: string } } | undefined)?.Error;
    if (envError && !config.Environment?.Variables) {
      return {
        status: 'NOT_APPLICABLE',
        reason: `the environment could not be read (${envError.ErrorCode ?? 'error'})`,
      };
    }
    const vars = (config.Environment?.Variables ?? {}) as Record<string, unknown>;
    const found = secretVariables(vars);
    if (!found.length) return { status: 'COMPLIANT' };

    const settings = ctx.config?.secrets ?? DEFAULT_SECRETS_SETTINGS;
    const fn = config.FunctionName;
    const fnArn = functionArnOf(s) ?? config.FunctionArn;
    const notes: string[] = [];
    const movable = found.filter((v) => {
      if (arnVariable(v.name) in vars) {
        notes.push(`${v.name}: ${arnVariable(v.name)} already exists; move it by hand`);
        return false;
      }
      if (secretName(settings, fn, v.name).length > SECRET_NAME_MAX) {
        notes.push(
          `${v.name}: the secret name would be longer than ${SECRET_NAME_MAX} characters; move it by hand`,
        );
        return false;
      }
      return true;
    });
    const role = roleOf(config.Role);
    if (!role)
      notes.push(`the execution role ${config.Role ?? '(none)'} is not a role ARN; nothing can be granted`);
    else if (role.account !== s.account)
      notes.push(
        `the execution role is in account ${role.account}; the guardrail grants only in ${s.account}`,
      );
    const canFix = !!role && role.account === s.account && movable.length > 0;
    const p = canFix ? plan(s, movable, settings, role) : { steps: [], preconditions: [], notes: [] };
    notes.push(...p.notes);

    const severity: Severity = found.some((v) => v.confidence === 'high') ? 'CRITICAL' : 'HIGH';
    const list = found.map((v) => `${v.name} (${v.detector}, ${v.confidence} confidence)`).join(', ');
    const finding: RawFinding = {
      resourceArn: fnArn,
      severity,
      summary:
        `${found.length} environment variable(s) of ${fn} hold a secret in plain text: ${list}. ` +
        (canFix
          ? `The fix moves ${movable.length === found.length ? 'them' : movable.map((v) => v.name).join(', ')} to Secrets Manager; the function must then read ${movable
              .map((v) => arnVariable(v.name))
              .join(', ')}. Published versions still hold the old value: rotate the secret afterwards.`
          : 'No automatic fix: see the notes.'),
      evidence: {
        variables: found.map((v) => ({
          name: v.name,
          detector: v.detector,
          confidence: v.confidence,
          fingerprint: v.fingerprint,
          ...(movable.includes(v)
            ? { secretName: secretName(settings, fn, v.name), arnVariable: arnVariable(v.name) }
            : {}),
        })),
        executionRole: config.Role ?? null,
        codeChange:
          'The function must read each secret from Secrets Manager: GetSecretValue with the ARN in <NAME>_SECRET_ARN, or the Parameters and Secrets extension (GET http://localhost:2773/secretsmanager/get?secretId=<ARN>).',
        publishedVersions: PUBLISHED_VERSIONS,
        ...(notes.length ? { notes } : {}),
      },
      plan: { steps: p.steps, preconditions: p.preconditions, ...(p.steps.length ? { atomic: true } : {}) },
    };
    return { status: 'NON_COMPLIANT', findings: [finding] };
  },
};
