import { Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag 3 acknowledgements. Findings of rules that report several per resource (IAM5) are named
 * `RuleId[Finding]`, and only that exact id acknowledges one; the bare rule id acknowledges nothing.
 * IAM5 names a wildcard resource by its CloudFormation value flattened to a string: `Ref X` becomes
 * `<X>`, `Fn::GetAtt [X, Y]` becomes `<X.Y>` and `Fn::Join` parts are joined.
 */

function flatten(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (Array.isArray(o['Fn::Join'])) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(flatten).join(sep);
    }
    if ('Fn::Sub' in o) return flatten(o['Fn::Sub']);
    if (Array.isArray(o['Fn::GetAtt'])) {
      const [res, attr] = o['Fn::GetAtt'] as [unknown, unknown];
      return `<${flatten(res)}.${flatten(attr)}>`;
    }
    if ('Fn::ImportValue' in o) return flatten(o['Fn::ImportValue']);
    if ('Ref' in o) return `<${flatten(o['Ref'])}>`;
  }
  return JSON.stringify(value);
}

/** The IAM5 finding id for a wildcard resource ARN (which may contain tokens). */
export function wildcardResourceFinding(scope: IConstruct, arn: string): string {
  return `AwsSolutions-IAM5[Resource::${flatten(Stack.of(scope).resolve(arn))}]`;
}
