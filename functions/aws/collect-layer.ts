import {
  GetLayerVersionCommand,
  GetLayerVersionPolicyCommand,
  LambdaClient,
  paginateListLayers,
  paginateListLayerVersions,
} from '@aws-sdk/client-lambda';
import { parseLayerVersionArn } from '../core/rules/lambda-layer-public.ts';
import type { Snapshot } from '../core/types.ts';
import { type AwsClients, body, orNull } from './clients.ts';

/**
 * The layer-version collector (docs/snapshot.md): `GetLayerVersion` holds the GetLayerVersion
 * response (GetLayerVersionByArn returns the same shape; it is not used because the local emulator
 * does not implement it) and `GetLayerVersionPolicy` the policy (`{Policy: <JSON string>,
 * RevisionId}`), each null when it does not exist. Both need only lambda:GetLayerVersion /
 * lambda:GetLayerVersionPolicy on the layer version.
 */

export interface LayerTarget {
  account: string;
  region: string;
  /** `arn:aws:lambda:<region>:<account>:layer:<name>:<version>` */
  layerVersionArn: string;
}

export async function collectLayer(clients: AwsClients, target: LayerTarget): Promise<Snapshot> {
  const parts = parseLayerVersionArn(target.layerVersionArn);
  if (!parts) throw new RangeError(`not a layer version ARN: ${target.layerVersionArn}`);
  const lambda = clients.get(LambdaClient, target.region);
  const responses: Record<string, unknown> = {};
  const snapshot: Snapshot = { account: target.account, region: target.region, responses };
  const layer = await orNull(
    lambda.send(new GetLayerVersionCommand({ LayerName: parts.name, VersionNumber: parts.version })),
  );
  responses['GetLayerVersion'] = layer ? body(layer) : null;
  if (!layer) return snapshot;
  const policy = await orNull(
    lambda.send(new GetLayerVersionPolicyCommand({ LayerName: parts.name, VersionNumber: parts.version })),
  );
  responses['GetLayerVersionPolicy'] = policy ? body(policy) : null;
  return snapshot;
}

export interface LayerVersionRef {
  name: string;
  arn: string;
  region: string;
}

/** Every version of every layer of a region (ListLayers, then ListLayerVersions per layer, every page). */
export async function listLayerVersions(clients: AwsClients, region: string): Promise<LayerVersionRef[]> {
  const lambda = clients.get(LambdaClient, region);
  const names: string[] = [];
  for await (const page of paginateListLayers({ client: lambda }, {}))
    for (const l of page.Layers ?? []) if (l.LayerName) names.push(l.LayerName);
  const out: LayerVersionRef[] = [];
  for (const name of names) {
    for await (const page of paginateListLayerVersions({ client: lambda }, { LayerName: name }))
      for (const v of page.LayerVersions ?? [])
        if (v.LayerVersionArn) out.push({ name: `${name}:${v.Version}`, arn: v.LayerVersionArn, region });
  }
  return out;
}
