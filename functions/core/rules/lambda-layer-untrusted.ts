import { functionArnOf, functionConfiguration } from '../snapshot.ts';
import type { Rule } from '../types.ts';

/**
 * LAMBDA.LAYER.UNTRUSTED: the function uses a layer published by an account that is not trusted.
 * A layer's code runs inside the function with the execution role's permissions.
 *
 * Trusted: the function's own account, the accounts in `trustedLayerAccounts`, and the accounts of
 * the layer versions the configuration itself names (`secrets.extensionLayerArns`, which the
 * LAMBDA.ENV.SECRET fix adds). AWS publishes its layers (Parameters and Secrets extension, Lambda
 * Insights, ADOT, Powertools) from accounts that differ by layer and region; none is trusted by
 * default: list the ones you use in `trustedLayerAccounts`.
 */

export const RULE_ID = 'LAMBDA.LAYER.UNTRUSTED';

/** Account of a layer version ARN (`arn:aws:lambda:<region>:<account>:layer:<name>:<version>`). */
export const layerAccountOf = (arn: string) => /^arn:aws[a-z-]*:lambda:[^:]*:(\d{12}):layer:/.exec(arn)?.[1];

export const lambdaLayerUntrusted: Rule = {
  id: RULE_ID,
  title: 'Layer from an untrusted account',
  severity: 'HIGH',
  rationale:
    "A layer's code runs inside the function with the execution role's permissions and sees every event and environment variable. " +
    "A layer from an account outside your control can change at the publisher's will (new versions) and is a supply-chain risk.",
  knownFalsePositives: [
    'Layers published by AWS or a vendor you trust whose account is not in trustedLayerAccounts. Add the account there.',
  ],
  triggers: [{ service: 'lambda', actions: ['CreateFunction', 'UpdateFunctionConfiguration'] }],
  resource: 'function',
  defaultMode: 'report',
  fix: 'None automatic (removing a layer breaks code that needs it). A person replaces the layer with one published in a trusted account (UpdateFunctionConfiguration Layers), or adds the publisher to trustedLayerAccounts.',
  evaluate(s, ctx) {
    const config = functionConfiguration(s);
    if (!config) return { status: 'NOT_APPLICABLE', reason: 'no function configuration in the snapshot' };
    const layers = ((config['Layers'] as { Arn?: string }[] | undefined) ?? [])
      .map((l) => l.Arn)
      .filter((a): a is string => typeof a === 'string');
    if (!layers.length) return { status: 'COMPLIANT' };
    const trusted = new Set<string>([s.account, ...(ctx.config?.trustedLayerAccounts ?? [])]);
    for (const arn of Object.values(ctx.config?.secrets.extensionLayerArns ?? {})) {
      const acct = arn ? layerAccountOf(arn) : undefined;
      if (acct) trusted.add(acct);
    }
    const untrusted = layers
      .map((arn) => ({ arn, account: layerAccountOf(arn) ?? null }))
      .filter((l) => !l.account || !trusted.has(l.account));
    if (!untrusted.length) return { status: 'COMPLIANT' };
    const fn = config.FunctionName;
    return {
      status: 'NON_COMPLIANT',
      findings: [
        {
          resourceArn: functionArnOf(s) ?? config.FunctionArn,
          summary: `${fn} uses ${untrusted.length} layer(s) from untrusted accounts: ${untrusted
            .map((l) => `${l.arn} (account ${l.account ?? 'unknown'})`)
            .join(', ')}.`,
          evidence: {
            layers: untrusted,
            trustedAccounts: [...trusted].sort(),
            remediation: `Replace each layer with a copy published in a trusted account, then aws lambda update-function-configuration --function-name ${fn} --layers <every layer version ARN the function keeps> (the list replaces the whole set); or, if the publisher is trusted, add its account to trustedLayerAccounts.`,
          },
          plan: { steps: [], preconditions: [] },
        },
      ],
    };
  },
};
