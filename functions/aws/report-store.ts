import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ScanReport } from '../core/report/model.ts';
import { type AwsClients, errorName } from './clients.ts';

/**
 * Where the sweep keeps its reports: `reports/YYYY/MM/DD/<time>.json|.html` (kept for the bucket's
 * lifecycle period) and `latest.json`, the previous sweep's report that the digest compares with.
 * The bucket encrypts at rest by default (SSE-S3) and refuses plain HTTP.
 */

export const LATEST_KEY = 'latest.json';

export function reportKeys(finishedAt: string): { json: string; html: string } {
  const d = finishedAt.slice(0, 10).split('-');
  const stamp = finishedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const base = `reports/${d[0]}/${d[1]}/${d[2]}/${stamp}`;
  return { json: `${base}.json`, html: `${base}.html` };
}

export async function putObject(
  clients: AwsClients,
  region: string,
  bucket: string,
  key: string,
  body: string,
  contentType: string,
): Promise<void> {
  await clients
    .get(S3Client, region)
    .send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
}

/** The previous sweep's report, or undefined on the first sweep (or if it cannot be parsed). */
export async function readLatestReport(
  clients: AwsClients,
  region: string,
  bucket: string,
): Promise<ScanReport | undefined> {
  try {
    const r = await clients
      .get(S3Client, region)
      .send(new GetObjectCommand({ Bucket: bucket, Key: LATEST_KEY }));
    const text = await r.Body?.transformToString('utf-8');
    if (!text) return undefined;
    const parsed = JSON.parse(text) as ScanReport;
    return parsed?.kind === 'lambda-guardrail.scan-report' ? parsed : undefined;
  } catch (err) {
    if (['NoSuchKey', 'NotFound'].includes(errorName(err))) return undefined;
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}
