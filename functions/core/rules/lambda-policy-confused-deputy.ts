import { addPermissionFromStatement, removePermissionStep } from '../permissions.ts';
import { allowsAnyAction, hasConditionKey, principals, type Statement } from '../policy.ts';
import { functionArnOf, functionConfiguration, policyUnchanged, resourcePolicies } from '../snapshot.ts';
import type { PlanStep, RawFinding, Rule } from '../types.ts';

/**
 * LAMBDA.POLICY.CONFUSED_DEPUTY: a resource-policy statement lets an AWS service principal
 * (`events.amazonaws.com`, `sns.amazonaws.com`, `s3.amazonaws.com`, ...) invoke the function with no
 * condition on the resource or account the service acts for. Any customer of that service can then
 * point their own rule, topic or bucket at the function ("cross-service confused deputy").
 *
 * Condition keys that restrict the source (compared case-insensitively; Lambda itself writes
 * `AWS:SourceArn`): `aws:SourceArn`, `aws:SourceAccount`, `aws:SourceOrgID`, `aws:SourceOrgPaths`.
 * AWS's confused-deputy guidance names these four (e.g. CloudWatch Logs "Confused deputy prevention",
 * X-Ray "Cross-service confused deputy prevention"). `lambda:EventSourceToken` (AddPermission's
 * EventSourceToken) also binds the caller: the invoker must present that token.
 *
 * Never flagged: principals that are not AWS service principals (`*.amazonaws.com`). Alexa's
 * principals (`alexa-appkit.amazon.com`, `alexa-connectedhome.amazon.com`) do not send
 * `aws:SourceArn`/`aws:SourceAccount`; Lambda's AddPermission offers `EventSourceToken` for them
 * ("For Alexa Smart Home functions, a token that the invoker must supply", AddPermission / CDK
 * `Permission.eventSourceToken` docs), and the Alexa skill ID is checked that way instead.
 *
 * Plan, when AddPermission can express the statement (one action, one principal, conditions only on
 * keys AddPermission has fields for): AddPermission of the same statement plus
 * `SourceAccount` = the function's own account under a new statement id, then RemovePermission of
 * the old statement, both with the policy's RevisionId (later steps re-read it, see plan.ts
 * `sequencePlans`). Otherwise the finding carries the exact manual fix and no plan.
 */

export const RULE_ID = 'LAMBDA.POLICY.CONFUSED_DEPUTY';

/** Condition keys that tie a service principal's call to a source resource, account or organization. */
export const SOURCE_KEYS = [
  'aws:SourceArn',
  'aws:SourceAccount',
  'aws:SourceOrgID',
  'aws:SourceOrgPaths',
  'lambda:EventSourceToken',
] as const;

/** Principals that cannot send the source keys (they use lambda:EventSourceToken); never flagged. */
export const NO_SOURCE_KEY_PRINCIPALS = [
  'alexa-appkit.amazon.com',
  'alexa-connectedhome.amazon.com',
] as const;

const INVOKE_ACTIONS = ['lambda:InvokeFunction', 'lambda:InvokeAsync'];
const AWS_SERVICE = /^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$/;

/** The AWS service principals of a statement that may invoke with no source condition. */
export function unboundServices(st: Statement): string[] {
  if (st.Effect !== 'Allow' || !allowsAnyAction(st, INVOKE_ACTIONS)) return [];
  if (hasConditionKey(st, SOURCE_KEYS)) return [];
  return principals(st, 'Service').filter(
    (p) => AWS_SERVICE.test(p) && !(NO_SOURCE_KEY_PRINCIPALS as readonly string[]).includes(p),
  );
}

/** A statement id for the replacement: `<old>-SourceAccount` (Sids allow `[A-Za-z0-9-_.]`, up to 100). */
export function replacementSid(oldSid: string, taken: ReadonlySet<string>): string {
  const suffix = '-SourceAccount';
  const base = `${oldSid.slice(0, 100 - suffix.length - 3)}${suffix}`;
  let sid = base;
  for (let i = 2; taken.has(sid); i++) sid = `${base}${i}`;
  return sid;
}

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** The CLI commands that do what the plan does (or would do, for a person). */
function commands(
  add: Record<string, unknown>,
  functionName: string,
  qualifier: string | undefined,
  oldSid: string,
) {
  const q = qualifier ? ` --qualifier ${quote(qualifier)}` : '';
  const flags: [string, string][] = [
    ['StatementId', '--statement-id'],
    ['Action', '--action'],
    ['Principal', '--principal'],
    ['SourceArn', '--source-arn'],
    ['SourceAccount', '--source-account'],
    ['PrincipalOrgID', '--principal-org-id'],
    ['EventSourceToken', '--event-source-token'],
    ['FunctionUrlAuthType', '--function-url-auth-type'],
  ];
  const addFlags = flags
    .filter(([k]) => add[k] !== undefined)
    .map(([k, f]) => ` ${f} ${quote(String(add[k]))}`)
    .join('');
  return [
    `aws lambda add-permission --function-name ${quote(functionName)}${q}${addFlags}`,
    `aws lambda remove-permission --function-name ${quote(functionName)}${q} --statement-id ${quote(oldSid)}`,
  ];
}

export const lambdaPolicyConfusedDeputy: Rule = {
  id: RULE_ID,
  title: 'AWS service may invoke the function on behalf of any account',
  severity: 'HIGH',
  rationale:
    'A statement that lets an AWS service principal (EventBridge, SNS, S3, API Gateway, Elastic Load Balancing, ...) invoke the function ' +
    'without an aws:SourceArn, aws:SourceAccount, aws:SourceOrgID or aws:SourceOrgPaths condition lets any customer of that service ' +
    'send events to the function from their own rule, topic, bucket or API (cross-service confused deputy).',
  knownFalsePositives: [
    'Never flagged: principals that are not AWS service principals, such as Alexa (alexa-appkit.amazon.com, alexa-connectedhome.amazon.com), which cannot send aws:SourceArn/aws:SourceAccount and are bound with lambda:EventSourceToken (the skill ID) instead; a statement with lambda:EventSourceToken counts as bound.',
    'A service that invokes from another account of your organization: the fix adds SourceAccount = the function’s own account, which would cut that caller off. Such statements need approval (the default mode); reject and add aws:SourceArn or aws:SourceOrgID by hand instead.',
    'Statements AddPermission cannot re-create (several actions or principals, NotAction, conditions other than SourceArn/SourceAccount/PrincipalOrgID/EventSourceToken/FunctionUrlAuthType): reported with the manual fix, no plan.',
  ],
  triggers: [{ service: 'lambda', actions: ['AddPermission'] }],
  resource: 'function',
  defaultMode: 'approve',
  fix: 'AddPermission of the same statement plus SourceAccount = the function’s own account under a new statement id, then RemovePermission of the old statement, each with the policy’s RevisionId (rollback re-adds the old statement and removes the new one).',
  evaluate(s) {
    const config = functionConfiguration(s);
    if (!config) return { status: 'NOT_APPLICABLE', reason: 'no function configuration in the snapshot' };
    const baseArn = functionArnOf(s) ?? config.FunctionArn;
    const fn = config.FunctionName;
    const findings: RawFinding[] = [];
    for (const policy of resourcePolicies(s)) {
      const open = policy.document.Statement.map((st) => ({ st, services: unboundServices(st) })).filter(
        (o) => o.services.length,
      );
      if (!open.length) continue;
      const where = policy.qualifier ? `alias/version ${policy.qualifier}` : 'the function';
      const taken = new Set(policy.document.Statement.map((st) => st.Sid ?? ''));
      const steps: PlanStep[] = [];
      const manual: { sid: string | null; why: string; commands?: string[] }[] = [];
      for (const { st } of open) {
        if (!st.Sid) {
          manual.push({
            sid: null,
            why: 'the statement has no Sid, so the Lambda API cannot remove it: rewrite the policy by hand',
          });
          continue;
        }
        const sid = replacementSid(st.Sid, taken);
        const add = addPermissionFromStatement({ ...st, Sid: sid }, fn, policy.qualifier);
        if (!add) {
          manual.push({
            sid: st.Sid,
            why: 'AddPermission cannot re-create this statement (several actions or principals, NotAction, or conditions it has no field for): add a statement with the same access and an aws:SourceAccount (or aws:SourceArn) condition, then remove this one',
            commands: [
              `aws lambda get-policy --function-name ${quote(fn)}${policy.qualifier ? ` --qualifier ${quote(policy.qualifier)}` : ''}`,
              `aws lambda remove-permission --function-name ${quote(fn)}${policy.qualifier ? ` --qualifier ${quote(policy.qualifier)}` : ''} --statement-id ${quote(st.Sid)}`,
            ],
          });
          continue;
        }
        taken.add(sid);
        add['SourceAccount'] = s.account;
        if (policy.revisionId) add['RevisionId'] = policy.revisionId;
        const { RevisionId: _r, ...addNoRevision } = add;
        steps.push({
          service: 'lambda',
          operation: 'AddPermission',
          parameters: add,
          reason: `re-create statement ${st.Sid} as ${sid} with SourceAccount ${s.account}`,
          inverse: {
            service: 'lambda',
            operation: 'RemovePermission',
            parameters: {
              FunctionName: fn,
              ...(policy.qualifier ? { Qualifier: policy.qualifier } : {}),
              StatementId: sid,
            },
            reason: `remove the replacement statement ${sid}`,
          },
        });
        steps.push(
          removePermissionStep(
            st,
            fn,
            policy.qualifier,
            policy.revisionId,
            `statement ${st.Sid} lets an AWS service invoke for any account; replaced by ${sid}`,
          ),
        );
        manual.push({
          sid: st.Sid,
          why: 'planned',
          commands: commands(addNoRevision, fn, policy.qualifier, st.Sid),
        });
      }
      const planned = manual.filter((m) => m.why === 'planned');
      const unplanned = manual.filter((m) => m.why !== 'planned');
      findings.push({
        resourceArn: policy.qualifier ? `${baseArn}:${policy.qualifier}` : baseArn,
        summary: `The resource policy of ${where} lets AWS services invoke it for any account (no aws:SourceArn/aws:SourceAccount condition): ${open
          .map((o) => `${o.st.Sid ?? '(no Sid)'} (${o.services.join(', ')})`)
          .join('; ')}.`,
        evidence: {
          qualifier: policy.qualifier ?? null,
          statements: open.map((o) => o.st),
          ...(planned.length
            ? { equivalentCommands: planned.map((m) => ({ statementId: m.sid, commands: m.commands })) }
            : {}),
          ...(unplanned.length
            ? {
                manualFix: unplanned.map((m) => ({
                  statementId: m.sid,
                  why: m.why,
                  ...(m.commands ? { commands: m.commands } : {}),
                })),
              }
            : {}),
        },
        plan: {
          steps,
          preconditions: steps.length ? policyUnchanged(policy, where) : [],
        },
      });
    }
    return findings.length ? { status: 'NON_COMPLIANT', findings } : { status: 'COMPLIANT' };
  },
};
