import { Template } from 'aws-cdk-lib/assertions';
import { cdkJsonContext, createGuardrailApp, type GuardrailApp } from '../../lib/app.ts';

/**
 * Synthesizes the guardrail app the way `cdk synth` does (cdk.json feature flags and config), but
 * with bundling skipped (`aws:cdk:bundling-stacks: []`) and, unless asked, without the built-in
 * CloudFormation validation (it takes seconds; the cdk-nag test runs it).
 */
export interface SynthOptions {
  /** Replaces the `guardrail` context of cdk.json. */
  guardrail?: unknown;
  context?: Record<string, unknown>;
  nag?: boolean;
  cfnValidation?: boolean;
  account?: string;
  outdir?: string;
}

export interface Synthesized extends GuardrailApp {
  template: Template;
  json: CfnTemplate;
}

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Metadata?: Record<string, unknown>;
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown }>;
}

export function synth(options: SynthOptions = {}): Synthesized {
  const base = cdkJsonContext();
  const context: Record<string, unknown> = {
    ...base,
    ...(options.guardrail !== undefined ? { guardrail: options.guardrail } : {}),
    'aws:cdk:bundling-stacks': [],
    ...options.context,
  };
  const built = createGuardrailApp({
    context,
    nag: options.nag ?? false,
    builtinCloudFormationValidation: options.cfnValidation ?? false,
    ...(options.account ? { account: options.account } : {}),
    ...(options.outdir ? { outdir: options.outdir } : {}),
  });
  const template = Template.fromStack(built.stack);
  return { ...built, template, json: template.toJSON() as CfnTemplate };
}

let cached: Synthesized | undefined;
/** The default deployment (cdk.json as committed), synthesized once per test file. */
export function defaultSynth(): Synthesized {
  cached ??= synth();
  return cached;
}

export function resourcesOfType(json: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(json.Resources).filter(([, r]) => r.Type === type);
}

/** The logical id of the CloudFormation resource behind a construct. */
export function logicalIdOf(built: GuardrailApp, construct: { node: { defaultChild?: unknown } }): string {
  const child = construct.node.defaultChild as { logicalId: string } | undefined;
  if (!child) throw new Error('construct has no default child');
  return built.stack.resolve(child.logicalId) as string;
}

export interface PolicyStatementJson {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: unknown;
}

export const asArray = <T>(v: T | T[] | undefined): T[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

/** Identity-policy statements attached to a role (inline `Policies` and `AWS::IAM::Policy` resources). */
export function roleStatements(json: CfnTemplate, roleLogicalId: string): PolicyStatementJson[] {
  const role = json.Resources[roleLogicalId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleLogicalId} is not a role`);
  const inline = asArray(
    role.Properties?.Policies as { PolicyDocument: { Statement: PolicyStatementJson[] } }[],
  );
  const attached = resourcesOfType(json, 'AWS::IAM::Policy')
    .filter(([, p]) =>
      asArray(p.Properties?.Roles as unknown[]).some(
        (r) => JSON.stringify(r) === JSON.stringify({ Ref: roleLogicalId }),
      ),
    )
    .map(([, p]) => p.Properties?.PolicyDocument as { Statement: PolicyStatementJson[] });
  return [...inline.map((p) => p.PolicyDocument), ...attached].flatMap((d) => d.Statement);
}

/** Every policy document anywhere in the template (identity, resource and queue policies). */
export function allPolicyStatements(json: CfnTemplate): PolicyStatementJson[] {
  const out: PolicyStatementJson[] = [];
  const visit = (v: unknown) => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.Statement) && typeof o.Version === 'string')
      out.push(...(o.Statement as PolicyStatementJson[]));
    Object.values(o).forEach(visit);
  };
  visit(json.Resources);
  return out;
}

export const sorted = (xs: Iterable<string>) => [...xs].sort();

/** Template JSON navigated freely in assertions (a wrong path fails the assertion anyway). */
// biome-ignore lint/suspicious/noExplicitAny: deliberately untyped view of synthesized CloudFormation JSON
export type Loose = any;

/** `${name}`, the ASL substitution syntax, built without a template literal. */
export const placeholder = (name: string) => ['$', '{', name, '}'].join('');
