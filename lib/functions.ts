import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { wildcardResourceFinding } from './nag.ts';

/** Repository root (the folder holding package.json and package-lock.json). */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * One Lambda per task state plus the EventBridge ingest and the approval endpoint; entries are
 * `functions/handlers/<name>.ts`.
 */
export const HANDLER_NAMES = [
  'ingest',
  'collect',
  'evaluate',
  'prove',
  'remediate',
  'verify',
  'record',
  'request-approval',
  'approval-callback',
  'sweep',
] as const;
export type HandlerName = (typeof HANDLER_NAMES)[number];

export function handlerEntry(name: HandlerName): string {
  return join(PROJECT_ROOT, 'functions', 'handlers', `${name}.ts`);
}

/**
 * Deployed runtime: the newest Node.js this aws-cdk-lib knows (cdk-nag AwsSolutions-L1 asks for the
 * latest). The bundle targets Node 22 so it also runs unchanged on the previous LTS runtime.
 */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;
export const ESBUILD_TARGET = 'node22';

/** ESM bundles still contain CommonJS dependencies that call `require`; give them one. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

export const CREDENTIAL_CHAIN_PACKAGE = '@aws-sdk/credential-provider-node';
export const LAMBDA_CREDENTIALS_MODULE = join(PROJECT_ROOT, 'functions', 'aws', 'lambda-credentials.ts');

export const LOG_RETENTION = logs.RetentionDays.THREE_MONTHS;

/**
 * The esbuild that NodejsFunction will run locally, or a readable error.
 *
 * NodejsFunction bundles in Docker when `forceDockerBundling` is set, or when it cannot find esbuild
 * (it resolves the `esbuild` package the same way `require` does, then tries `esbuild` on the PATH).
 * We never set `forceDockerBundling`, and this check makes a missing local esbuild a synth error
 * instead of a silent switch to Docker.
 */
export function localEsbuildVersion(): string {
  try {
    const req = createRequire(join(PROJECT_ROOT, 'package.json'));
    return (req('esbuild/package.json') as { version: string }).version;
  } catch {
    throw new Error(
      'esbuild is not installed locally (run `npm ci`): Lambda bundling runs esbuild from node_modules and never falls back to Docker',
    );
  }
}

/** Bundling for every guardrail function: local esbuild, minified ESM, AWS SDK v3 bundled. */
export function bundlingOptions(): nodejs.BundlingOptions {
  localEsbuildVersion();
  return {
    forceDockerBundling: false,
    minify: true,
    sourceMap: false,
    format: nodejs.OutputFormat.ESM,
    target: ESBUILD_TARGET,
    mainFields: ['module', 'main'],
    banner: ESM_REQUIRE_BANNER,
    // Bundle the SDK clients instead of using the runtime's copy: the code runs with the exact
    // client versions it was tested with, and tree-shaking keeps the bundles small.
    bundleAwsSDK: true,
    externalModules: [],
    charset: nodejs.Charset.UTF8,
    // Inside Lambda, credentials are always in the environment: replace the SDK's default provider
    // chain (SSO, INI, process, web identity, IMDS; ~90 KB per function) with the env-only provider.
    esbuildArgs: { [`--alias:${CREDENTIAL_CHAIN_PACKAGE}`]: LAMBDA_CREDENTIALS_MODULE },
  };
}

export interface GuardrailFunctionProps {
  name: HandlerName;
  description: string;
  environment: Record<string, string>;
  timeout?: Duration;
  memorySize?: number;
  deadLetterQueue?: sqs.IQueue;
  retryAttempts?: number;
  maxEventAge?: Duration;
}

/**
 * A handler with its own role (no managed policies: every permission is a statement the stack adds),
 * its own log group with retention, X-Ray tracing and the shared bundling.
 */
export class GuardrailFunction extends Construct {
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly fn: nodejs.NodejsFunction;
  private readonly acknowledgedResources = new Set<string>();

  constructor(scope: Construct, id: string, props: GuardrailFunctionProps) {
    super(scope, id);
    const entry = handlerEntry(props.name);
    if (!existsSync(entry)) throw new Error(`handler entry not found: ${entry}`);

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Lambda Guardrail ${props.name} function`,
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: LOG_RETENTION });
    // CreateLogStream + PutLogEvents on this log group only (instead of AWSLambdaBasicExecutionRole).
    this.logGroup.grantWrite(this.role);

    this.fn = new nodejs.NodejsFunction(this, 'Function', {
      entry,
      handler: 'handler',
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: lambda.Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      environment: props.environment,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      bundling: bundlingOptions(),
      ...(props.deadLetterQueue ? { deadLetterQueue: props.deadLetterQueue } : {}),
      ...(props.retryAttempts !== undefined ? { retryAttempts: props.retryAttempts } : {}),
      ...(props.maxEventAge ? { maxEventAge: props.maxEventAge } : {}),
    });

    // Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords to the role's default
    // policy with Resource "*". Acknowledged on that policy only, not on the role or the stack.
    const defaultPolicy = this.role.node.tryFindChild('DefaultPolicy');
    if (defaultPolicy) {
      Validations.of(defaultPolicy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Only the X-Ray statement added by active tracing uses Resource "*": xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions.',
      });
    }
  }

  /** Adds an identity-policy statement; the stack names every action and resource explicitly. */
  addToPolicy(statement: iam.PolicyStatement): void {
    this.role.addToPrincipalPolicy(statement);
  }

  /**
   * Acknowledges cdk-nag IAM5 for one wildcard resource ARN on this role's policy only (once, however
   * many statements use the pattern).
   */
  acknowledgeWildcardResource(arn: string, reason: string): void {
    const id = wildcardResourceFinding(this, arn);
    if (this.acknowledgedResources.has(id)) return;
    this.acknowledgedResources.add(id);
    Validations.of(this.role.node.findChild('DefaultPolicy')).acknowledge({ id, reason });
  }
}
