import { type EventPattern, Match } from 'aws-cdk-lib/aws-events';

/**
 * EventBridge patterns for the CloudTrail management events that trigger the guardrail.
 *
 * Matching semantics relied on here (Amazon EventBridge User Guide, "Event pattern syntax" and
 * "Comparison operators for use in event patterns"):
 * - the values in a field's array are alternatives (OR); the fields of a pattern must all match (AND);
 * - "for an event pattern to match an event, the event must contain all the field names listed in
 *   the event pattern", so `anything-but` on its own never matches an event that lacks the field;
 * - `{"exists": false}` matches exactly when the field is absent.
 * Hence an exclusion is written as `[{"anything-but": [...]}, {"exists": false}]`: the field is absent
 * (an IAM user's call has no `sessionContext.sessionIssuer.arn`; CloudTrail even sends
 * `"sessionIssuer": {}`) or it is present and not one of the excluded ARNs.
 *
 * Lambda event names carry API-version suffixes (`AddPermission20150331v2`) while the function URL
 * calls do not (`CreateFunctionUrlConfig`), so every trigger is a `prefix` match on the bare action.
 */

export const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';

export interface CloudTrailPatternInput {
  /** Trigger actions per service, as returned by `triggerPrefixes()`. */
  prefixes: Record<string, readonly string[]>;
  /** Roles whose sessions never trigger the guardrail (its own roles, configured role ARNs). */
  excludedRoleArns: readonly string[];
  /** Other principals (IAM users, specific STS sessions) matched on `userIdentity.arn`. */
  excludedPrincipalArns?: readonly string[];
}

export interface ServicePattern {
  service: string;
  pattern: EventPattern;
}

/** `anything-but` the values, or the field is absent. */
export function notOneOfOrAbsent(values: readonly string[]): string[] {
  return Match.anyOf(Match.anythingBut(...values), Match.doesNotExist());
}

/** Splits excluded ARNs into IAM roles (matched on the session issuer) and everything else. */
export function splitExcludedPrincipals(arns: readonly string[]): { roles: string[]; others: string[] } {
  const isRole = (a: string) => /^arn:aws[a-z-]*:iam::\d{12}:role\//.test(a);
  return { roles: arns.filter(isRole), others: arns.filter((a) => !isRole(a)) };
}

/** One pattern per service that has triggers, in service order. */
export function cloudTrailEventPatterns(input: CloudTrailPatternInput): ServicePattern[] {
  const others = input.excludedPrincipalArns ?? [];
  const userIdentity = {
    ...(input.excludedRoleArns.length
      ? { sessionContext: { sessionIssuer: { arn: notOneOfOrAbsent(input.excludedRoleArns) } } }
      : {}),
    ...(others.length ? { arn: notOneOfOrAbsent(others) } : {}),
  };
  return Object.entries(input.prefixes)
    .filter(([, actions]) => actions.length > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([service, actions]) => ({
      service,
      pattern: {
        source: [`aws.${service}`],
        detailType: [CLOUDTRAIL_DETAIL_TYPE],
        detail: {
          eventSource: [`${service}.amazonaws.com`],
          eventName: Match.anyOf(...actions.map((a) => Match.prefix(a))),
          // Failed calls changed nothing.
          errorCode: Match.doesNotExist(),
          ...(Object.keys(userIdentity).length ? { userIdentity } : {}),
        },
      },
    }));
}
