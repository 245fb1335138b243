import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultSynth, synth } from './helpers.ts';

/**
 * cdk-nag 3 is a CDK policy-validation plugin: violations are not annotations any more, they are
 * returned by the plugin (`validateScope`) and written by synthesis to `validation-report.json` in
 * the cloud assembly (synth fails when a plugin reports one). Both are checked here.
 */

/** AwsSolutions with acknowledgements ignored: what the rules find before any acknowledgement. */
class UnacknowledgedAwsSolutions extends AwsSolutionsChecks {}
(UnacknowledgedAwsSolutions.prototype as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () =>
  false;

interface Ack {
  path: string;
  id: string;
  reason: string;
}
function acknowledgements(root: IConstruct): Ack[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

describe('cdk-nag AwsSolutions', () => {
  const built = defaultSynth();

  it('reports no unacknowledged error or warning', () => {
    const report = new AwsSolutionsChecks().validateScope(built.app);
    const summary = report.violations.map(
      (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(summary).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('every acknowledgement matches a real finding on that construct (none is stale or blanket)', () => {
    const raw = new UnacknowledgedAwsSolutions().validateScope(built.app);
    const findings = raw.violations.flatMap((v) =>
      v.violatingResources.map((r) => ({ id: v.ruleName, path: r.constructPath ?? '' })),
    );
    const acks = acknowledgements(built.app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      // Beside its construct: never on the app or the stack.
      expect(ack.path, ack.id).not.toBe('');
      expect(ack.path, ack.id).not.toBe(built.stack.node.path);
      expect(ack.id, ack.path).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      expect(ack.reason.length, `${ack.path} ${ack.id}`).toBeGreaterThan(60);
      const covered = findings.filter(
        (f) => f.id === ack.id && (f.path === ack.path || f.path.startsWith(`${ack.path}/`)),
      );
      expect(covered.length, `${ack.path}: ${ack.id} acknowledges nothing`).toBeGreaterThan(0);
    }
    // ...and every raw finding is covered by exactly such an acknowledgement.
    for (const f of findings) {
      const ok = acks.some((a) => a.id === f.id && (f.path === a.path || f.path.startsWith(`${a.path}/`)));
      expect(ok, `${f.id} at ${f.path}`).toBe(true);
    }
  });

  it('the wildcard-resource acknowledgements are the ones expected, and no others', () => {
    const ids = [...new Set(acknowledgements(built.app).map((a) => a.id))].sort();
    expect(ids).toEqual([
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Resource::<SweepReportsBE2F1A9B.Arn>/*]',
      // IAM.ROLE rules: the account's customer-managed policies (read, new versions) and AWS-managed ones (read).
      'AwsSolutions-IAM5[Resource::arn:aws:iam::<AWS::AccountId>:policy/*]',
      'AwsSolutions-IAM5[Resource::arn:aws:iam::<AWS::AccountId>:role/*]',
      'AwsSolutions-IAM5[Resource::arn:aws:iam::aws:policy/*]',
      'AwsSolutions-IAM5[Resource::arn:aws:lambda:us-east-1:<AWS::AccountId>:function:*]',
      // LAMBDA.LAYER.PUBLIC reads and unshares the account's layer versions.
      'AwsSolutions-IAM5[Resource::arn:aws:lambda:us-east-1:<AWS::AccountId>:layer:*]',
      // LAMBDA.LOGS.UNMASKED reads (and may put) the data protection policy of the functions' log groups.
      'AwsSolutions-IAM5[Resource::arn:aws:logs:us-east-1:<AWS::AccountId>:log-group:*]',
      'AwsSolutions-IAM5[Resource::arn:aws:secretsmanager:us-east-1:<AWS::AccountId>:secret:lambda-guardrail/*]',
      'AwsSolutions-S1',
      'AwsSolutions-SMG4',
      'AwsSolutions-SQS3',
    ]);
  });

  it('finds nothing for another region and a fixed account either', () => {
    const other = synth({ guardrail: { homeRegion: 'eu-central-1' }, account: '123456789012' });
    const report = new AwsSolutionsChecks().validateScope(other.app);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });
});

describe('synthesis with cdk-nag registered (as bin/app.ts does) and CloudFormation validation', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'guardrail-nag-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('synthesizes without a validation failure and writes an empty validation report', () => {
    const built = synth({ nag: true, cfnValidation: true, outdir });
    expect(() => built.app.synth()).not.toThrow();
    let report: { pluginReports?: { pluginName?: string; violations?: unknown[] }[] } = {};
    try {
      report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
    } catch {
      // No report file: nothing was reported.
    }
    const violations = (report.pluginReports ?? []).flatMap((r) =>
      (r.violations ?? []).map((v) => `${r.pluginName}: ${JSON.stringify(v)}`),
    );
    expect(violations).toEqual([]);
  }, 120_000);

  it('an unacknowledged finding fails synth and lands in the report (so an empty report means something)', () => {
    const probeOut = join(outdir, 'probe');
    const app = new App({ builtinCloudFormationValidation: false, outdir: probeOut });
    new sqs.Queue(new Stack(app, 'Probe'), 'NoDlqNoTls');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS3/);
    const report = JSON.parse(readFileSync(join(probeOut, 'validation-report.json'), 'utf8'));
    const aws = report.pluginReports.find((r: { pluginName: string }) => r.pluginName === 'AwsSolutions');
    expect(aws.violations.map((v: { ruleName: string }) => v.ruleName)).toEqual(
      expect.arrayContaining(['AwsSolutions-SQS3', 'AwsSolutions-SQS4']),
    );
  });
});
