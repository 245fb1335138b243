import {
  allowsAnyAction,
  asArray,
  hasConditionKey,
  isPublicPrincipal,
  parsePolicyDocument,
  type Statement,
} from '../policy.ts';
import type { PlanStep, RawFinding, Rule, Snapshot } from '../types.ts';

/**
 * LAMBDA.LAYER.PUBLIC: a layer version the account owns is shared with every AWS account
 * (a `GetLayerVersionPolicy` statement with Principal `*` and no organization condition).
 *
 * AddLayerVersionPermission grants `lambda:GetLayerVersion` to one account, to every account of an
 * organization (`OrganizationId`: Principal `*` with `aws:PrincipalOrgID`), or to `*`. Only the last
 * is public: anyone can then download the layer's code (GetLayerVersion returns a download link) and
 * whatever it bundles (internal libraries, configuration, sometimes credentials).
 *
 * Snapshot (docs/snapshot.md): `GetLayerVersion` (the GetLayerVersionByArn response) and
 * `GetLayerVersionPolicy` (`{Policy: <JSON string>, RevisionId}`, or null: no policy).
 *
 * Plan: RemoveLayerVersionPermission of each public statement (the first with the policy's
 * RevisionId; the inverse AddLayerVersionPermission re-shares it for rollback).
 */

export const RULE_ID = 'LAMBDA.LAYER.PUBLIC';

/** Conditions that narrow `*` to an organization or account (AddLayerVersionPermission writes aws:PrincipalOrgID). */
export const LAYER_RESTRICTING_KEYS = [
  'aws:PrincipalOrgID',
  'aws:PrincipalOrgPaths',
  'aws:PrincipalAccount',
] as const;

const LAYER_ACTIONS = ['lambda:GetLayerVersion'];

export interface LayerVersionBody {
  LayerArn?: string;
  LayerVersionArn?: string;
  Version?: number;
  [k: string]: unknown;
}

/** `arn:aws:lambda:<region>:<account>:layer:<name>:<version>` -> its parts. */
export function parseLayerVersionArn(
  arn: string,
): { region: string; account: string; name: string; version: number } | undefined {
  const m = /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):(\d{12}):layer:([A-Za-z0-9_-]+):(\d+)$/.exec(arn);
  return m ? { region: m[1], account: m[2], name: m[3], version: Number(m[4]) } : undefined;
}

export function isPublicLayerStatement(st: Statement): boolean {
  return (
    st.Effect === 'Allow' &&
    isPublicPrincipal(st) &&
    // Any action pattern that covers GetLayerVersion (`lambda:*`, `lambda:GetLayerVersion`).
    allowsAnyAction(st, LAYER_ACTIONS) &&
    !hasConditionKey(st, LAYER_RESTRICTING_KEYS)
  );
}

export function layerPolicyOf(s: Snapshot): { statements: Statement[]; revisionId?: string } | undefined {
  const p = s.responses['GetLayerVersionPolicy'] as
    | { Policy?: unknown; RevisionId?: string }
    | null
    | undefined;
  if (!p || typeof p.Policy !== 'string') return undefined;
  return {
    statements: parsePolicyDocument(p.Policy).Statement,
    ...(p.RevisionId ? { revisionId: p.RevisionId } : {}),
  };
}

function restoreStep(st: Statement, layerName: string, version: number): PlanStep['inverse'] | undefined {
  const actions = asArray(st.Action);
  if (!st.Sid || actions.length !== 1) return undefined;
  return {
    service: 'lambda',
    operation: 'AddLayerVersionPermission',
    parameters: {
      LayerName: layerName,
      VersionNumber: version,
      StatementId: st.Sid,
      Action: actions[0],
      Principal: '*',
    },
    reason: `re-share layer version ${layerName}:${version} with every account (statement ${st.Sid})`,
  };
}

export const lambdaLayerPublic: Rule = {
  id: RULE_ID,
  title: 'Layer version shared with every AWS account',
  severity: 'HIGH',
  rationale:
    'A layer version whose policy grants lambda:GetLayerVersion to Principal "*" without an aws:PrincipalOrgID condition can be downloaded by ' +
    'anyone with an AWS account: its code and everything bundled with it (internal libraries, configuration, sometimes credentials).',
  knownFalsePositives: [
    'Layers published for the public on purpose (open-source tooling, vendor extensions). Layers carry no tags, so set rules.LAMBDA.LAYER.PUBLIC.mode to report (or enabled: false) in accounts that publish such layers.',
  ],
  triggers: [{ service: 'lambda', actions: ['AddLayerVersionPermission', 'PublishLayerVersion'] }],
  resource: 'layer',
  defaultMode: 'auto',
  fix: 'RemoveLayerVersionPermission of exactly the public statements (the first with the policy’s RevisionId); statements for named accounts or an organization are kept. Rollback re-adds them with AddLayerVersionPermission.',
  evaluate(s) {
    const layer = s.responses['GetLayerVersion'] as LayerVersionBody | null | undefined;
    const arn = layer?.LayerVersionArn;
    if (!arn) return { status: 'NOT_APPLICABLE', reason: 'no layer version in the snapshot' };
    const parts = parseLayerVersionArn(arn);
    if (!parts) return { status: 'NOT_APPLICABLE', reason: `not a layer version ARN: ${arn}` };
    if (parts.account !== s.account)
      return { status: 'NOT_APPLICABLE', reason: `layer of account ${parts.account}, not of ${s.account}` };
    const policy = layerPolicyOf(s);
    if (!policy) return { status: 'COMPLIANT' };
    const open = policy.statements.filter(isPublicLayerStatement);
    if (!open.length) return { status: 'COMPLIANT' };
    const removable = open.filter((st) => st.Sid);
    const steps: PlanStep[] = removable.map((st, i) => {
      const inverse = restoreStep(st, parts.name, parts.version);
      return {
        service: 'lambda',
        operation: 'RemoveLayerVersionPermission',
        parameters: {
          LayerName: parts.name,
          VersionNumber: parts.version,
          StatementId: st.Sid,
          // Every write issues a new RevisionId: the first removal names the one read, later ones
          // re-read it right before they run (after checking that only this plan changed the policy).
          ...(policy.revisionId
            ? {
                RevisionId:
                  i === 0
                    ? policy.revisionId
                    : { fromLayerPolicyRevision: { LayerName: parts.name, VersionNumber: parts.version } },
              }
            : {}),
        },
        reason: `statement ${st.Sid} shares layer version ${parts.name}:${parts.version} with every AWS account`,
        ...(inverse ? { inverse } : {}),
      };
    });
    const finding: RawFinding = {
      resourceArn: arn,
      summary: `Layer version ${parts.name}:${parts.version} is shared with every AWS account by ${open
        .map((st) => st.Sid ?? '(no Sid)')
        .join(', ')}.`,
      evidence: {
        layerVersionArn: arn,
        statements: open,
        commands: removable.map(
          (st) =>
            `aws lambda remove-layer-version-permission --layer-name ${parts.name} --version-number ${parts.version} --statement-id ${st.Sid}`,
        ),
        ...(removable.length < open.length
          ? {
              note: 'statements without a Sid cannot be removed through the Lambda API; delete the layer version instead',
            }
          : {}),
      },
      plan: {
        steps,
        preconditions: policy.revisionId
          ? [
              {
                read: 'GetLayerVersionPolicy',
                path: 'RevisionId',
                equals: policy.revisionId,
                description: `the policy of layer version ${parts.name}:${parts.version} is unchanged`,
              },
            ]
          : [],
      },
    };
    return { status: 'NON_COMPLIANT', findings: [finding] };
  },
};
