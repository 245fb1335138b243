import * as iam from 'aws-cdk-lib/aws-iam';
import { assertNoWildcardActions } from './permissions.ts';

/**
 * The one way the stack writes an Allow statement: named actions only (never `*` or `service:*`),
 * with a Sid so tests and cdk-nag acknowledgements can point at it.
 */
export function allowStatement(
  sid: string,
  actions: string[],
  resources: string[],
  conditions?: Record<string, unknown>,
): iam.PolicyStatement {
  assertNoWildcardActions(actions);
  return new iam.PolicyStatement({
    sid,
    effect: iam.Effect.ALLOW,
    actions,
    resources,
    ...(conditions ? { conditions } : {}),
  });
}
