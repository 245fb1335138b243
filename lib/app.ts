import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { type GuardrailConfig, InvalidConfigError, parseConfig } from '../functions/core/config.ts';
import { triggerPrefixes } from '../functions/core/rules/index.ts';
import { splitExcludedPrincipals } from './event-pattern.ts';
import { PROJECT_ROOT } from './functions.ts';
import { GuardrailStack } from './guardrail-stack.ts';
import { IAM_EVENTS_REGION, IamForwardingStack } from './iam-forwarding.ts';
import { GuardrailOrganization } from './org/organization.ts';

/** Construct id (and CloudFormation stack name) of the deployed guardrail. */
export const STACK_ID = 'LambdaGuardrail';
/** The context key holding the guardrail configuration. */
export const CONFIG_CONTEXT_KEY = 'guardrail';

/**
 * The `guardrail` context, validated. `cdk.json` holds an object; `cdk synth -c guardrail='{...}'`
 * passes a string, which is parsed as JSON. Throws `InvalidConfigError` with one readable line.
 */
export function configFromContext(scope: Construct): GuardrailConfig {
  let raw: unknown = scope.node.tryGetContext(CONFIG_CONTEXT_KEY);
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch {
      throw new InvalidConfigError(
        `invalid guardrail config: context "${CONFIG_CONTEXT_KEY}" is not valid JSON`,
      );
    }
  }
  return parseConfig(raw);
}

/** The `context` object of cdk.json (feature flags and the `guardrail` config), for tests. */
export function cdkJsonContext(path: string = join(PROJECT_ROOT, 'cdk.json')): Record<string, unknown> {
  const json = JSON.parse(readFileSync(path, 'utf8')) as { context?: Record<string, unknown> };
  return json.context ?? {};
}

export interface GuardrailAppOptions extends AppProps {
  /** Register cdk-nag's AwsSolutions checks as a validation plugin (default true). */
  nag?: boolean;
  /** Deployment account; defaults to CDK_DEFAULT_ACCOUNT when set (env-agnostic otherwise). */
  account?: string;
}

export interface GuardrailApp {
  app: App;
  stack: GuardrailStack;
  config: GuardrailConfig;
  /** The us-east-1 stack forwarding IAM events, when the home region is elsewhere (lib/iam-forwarding.ts). */
  forwarding?: IamForwardingStack;
  /** Organization mode only: the bus policy, member-role grants and the member StackSet (lib/org/). */
  organization?: GuardrailOrganization;
}

/**
 * Builds the CDK app: validates the `guardrail` context, creates the stack in the home region and
 * registers cdk-nag. Used by bin/app.ts (context from the CDK CLI) and by tests (context passed in).
 */
export function createGuardrailApp(options: GuardrailAppOptions = {}): GuardrailApp {
  const { nag = true, account = process.env.CDK_DEFAULT_ACCOUNT, ...appProps } = options;
  const app = new App(appProps);
  const config = configFromContext(app);
  const stack = new GuardrailStack(app, STACK_ID, {
    config,
    env: { region: config.homeRegion, ...(account ? { account } : {}) },
  });
  // IAM events reach EventBridge only in us-east-1: elsewhere, forward them to the home region.
  const iamActions = triggerPrefixes(stack.rules)['iam'] ?? [];
  const forwarding =
    config.homeRegion !== IAM_EVENTS_REGION && iamActions.length
      ? new IamForwardingStack(app, `${STACK_ID}IamForwarding`, {
          env: { region: IAM_EVENTS_REGION, ...(account ? { account } : {}) },
          homeRegion: config.homeRegion,
          actions: iamActions,
          guardrailStackName: stack.stackName,
          excludedPrincipalArns: splitExcludedPrincipals(config.excludedPrincipals).others,
        })
      : undefined;
  // Organization mode (docs/organization.md): bus policy, member-role grants and the member StackSet.
  const organization = config.organization.enabled
    ? new GuardrailOrganization(stack, 'Organization', {
        config,
        rules: stack.rules,
        collectors: [stack.functions.collect, stack.functions.verify],
        remediators: [stack.functions.remediate],
        sweepers: [stack.functions.sweep],
      })
    : undefined;
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return {
    app,
    stack,
    config,
    ...(forwarding ? { forwarding } : {}),
    ...(organization ? { organization } : {}),
  };
}
