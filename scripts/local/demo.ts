import { relative } from 'node:path';
import {
  GetFunctionUrlConfigCommand,
  GetLayerVersionPolicyCommand,
  GetPolicyCommand,
} from '@aws-sdk/client-lambda';
import type { EmailMessage } from '../../functions/core/approval-render.ts';
import type { LedgerRecord } from '../../functions/core/ledger.ts';
import { parsePolicyDocument } from '../../functions/core/policy.ts';
import { stepLine } from '../../functions/core/render.ts';
import { roleScenario } from './demo-iam.ts';
import { secretsScenario } from './demo-secrets.ts';
import { REPO_ROOT, startEmulator } from './emulator.ts';
import { LocalGuardrail } from './runtime.ts';
import {
  DEMO_ACCOUNT,
  DEMO_REGION,
  emulatorClients,
  lambdaEvent,
  PUBLIC_URL_PERMISSIONS,
  seedFunction,
  seedLayer,
} from './seed.ts';

/**
 * `npm run demo`: the main job on the built-in local default. Starts the emulator, seeds functions
 * with public URLs and public invoke statements next to legitimate restricted ones, feeds the
 * CloudTrail events those changes produce through the real ingest handler and the real ASL, prints
 * what was found, what was done and the before/after, stops the emulator and exits 0.
 */

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const RESTRICTED_PERMISSIONS = [
  {
    StatementId: 'nightly-schedule',
    Action: 'lambda:InvokeFunction',
    Principal: 'events.amazonaws.com',
    SourceArn: `arn:aws:events:${DEMO_REGION}:${DEMO_ACCOUNT}:rule/nightly`,
  },
  { StatementId: 'partner-account', Action: 'lambda:InvokeFunction', Principal: '210987654321' },
  {
    StatementId: 'org-callers',
    Action: 'lambda:InvokeFunction',
    Principal: '*',
    PrincipalOrgID: 'o-a1b2c3d4e5',
  },
];

export async function policySids(endpoint: string, fn: string): Promise<string[]> {
  const { lambda } = emulatorClients(endpoint);
  try {
    const r = await lambda.send(new GetPolicyCommand({ FunctionName: fn }));
    return parsePolicyDocument(r.Policy ?? '{}').Statement.map((s) => s.Sid ?? '?');
  } catch {
    return [];
  }
}

export async function urlAuthType(endpoint: string, fn: string): Promise<string> {
  const { lambda } = emulatorClients(endpoint);
  return (await lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: fn }))).AuthType ?? '?';
}

function printRecord(io: Io, record: LedgerRecord | undefined) {
  if (!record) {
    io.out('  (no ledger record)');
    return;
  }
  io.out(`  outcome: ${record.outcome}`);
  for (const f of record.findings) {
    io.out(`  finding: [${f.severity}] ${f.ruleId} mode=${f.mode}${f.exempt ? ' EXEMPT' : ''}`);
    io.out(`           ${f.summary}`);
    if (f.exemption)
      io.out(
        `           exemption: ${f.exemption.status}${f.exemption.reason ? ` (${f.exemption.reason})` : ''}`,
      );
  }
  for (const s of record.remediation?.steps ?? []) {
    io.out(`  step ${s.status}: ${stepLine(s)}`);
    io.out(`       before: ${JSON.stringify(s.before ?? null)}`);
    io.out(`       after:  ${JSON.stringify(s.after ?? null)}`);
  }
  for (const d of record.remediation?.drift ?? []) io.out(`  drift: ${d}`);
  if (record.verification) io.out(`  verified: ${record.verification.verified}`);
  const a = record.approval;
  if (a) {
    io.out(
      a.decision === 'expired'
        ? `  approval: expired at ${a.expiredAt} (${a.notified ?? 0} approver(s) told); nothing that needed approval was applied`
        : `  approval: ${a.decision} by ${a.decidedBy} at ${a.decidedAt}${a.comment ? ` ("${a.comment}")` : ''}`,
    );
  }
}

/** How long the interactive demo waits for a decision on the page. */
export const DEMO_APPROVAL_SECONDS = 90;
const APPROVERS = ['security-lead@example.com', 'platform-oncall@example.com'];

/** Decides like a person: opens the link, reads the form on the page, presses Approve. */
async function approveThroughThePage(io: Io, link: string, comment: string): Promise<void> {
  const page = await fetch(link, { headers: { accept: 'text/html' } });
  const html = await page.text();
  io.out(`  GET the link -> HTTP ${page.status}: the page shows the plan; nothing is decided by opening it`);
  const csrf = /<input type="hidden" name="csrf" value="([^"]+)">/.exec(html)?.[1];
  if (!csrf) throw new Error(`the approval page has no form (HTTP ${page.status})`);
  const post = await fetch(link, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: new URL(link).origin,
      'sec-fetch-site': 'same-origin',
    },
    body: new URLSearchParams({ csrf, comment, decision: 'approve' }).toString(),
  });
  const title = /<h1>([^<]*)<\/h1>/.exec(await post.text())?.[1];
  io.out(`  POST the form (Approve) -> HTTP ${post.status}: ${title}`);
}

async function approvalScenario(io: Io, endpoint: string, autoApprove: boolean): Promise<number> {
  io.out('\n== Scenario 5: a finding that needs a person, approved by email link ==');
  const links: EmailMessage[] = [];
  const guardrail = new LocalGuardrail({
    endpoint,
    region: DEMO_REGION,
    logLevel: 'SILENT',
    config: {
      rules: { 'LAMBDA.URL.PUBLIC': { mode: 'approve' } },
      approvers: APPROVERS,
      approvalSender: 'lambda-guardrail@example.com',
      // Interactive: a short wait so the demo always ends; with --approve the default applies.
      ...(autoApprove ? {} : { approvalTimeoutHours: DEMO_APPROVAL_SECONDS / 3600 }),
    },
    approvals: { onEmail: (m) => links.push(m) },
  });
  try {
    await guardrail.setup();
    io.out(`config: LAMBDA.URL.PUBLIC in approve mode; approvers ${APPROVERS.join(', ')}`);
    const fn = 'billing-api';
    await seedFunction(endpoint, {
      name: fn,
      url: { authType: 'NONE' },
      permissions: [
        ...PUBLIC_URL_PERMISSIONS,
        { StatementId: 'backdoor', Action: 'lambda:InvokeFunction', Principal: '*' },
      ],
    });
    io.out(
      `seeded ${fn}: URL AuthType ${await urlAuthType(endpoint, fn)}; statements ${(await policySids(endpoint, fn)).join(', ')}`,
    );
    const r = await guardrail.ingest(
      lambdaEvent('CreateFunctionUrlConfig', { functionName: fn, authType: 'NONE' }),
    );
    if (r.status !== 'started') throw new Error(`ingest did not start an execution: ${r.status}`);
    const name = r.executionName!;
    io.out(
      `event CreateFunctionUrlConfig -> ingest: started; execution ${name}: ${guardrail.executions.get(name)?.status}`,
    );
    for (const m of links) {
      io.out(`  email to ${m.to} in ${relative(REPO_ROOT, guardrail.outbox!.dir)}/`);
      io.out(`approval link for ${m.to}: ${m.link}`);
    }
    if (autoApprove) {
      io.out(`--approve: deciding as ${links[0].to}, through the page, like a person`);
      await approveThroughThePage(io, links[0].link!, 'approved by the demo (--approve)');
      const second = await fetch(links[1].link!);
      await second.arrayBuffer();
      io.out(
        `  the other approver's link now -> HTTP ${second.status} (already decided: each approval is single use)`,
      );
    } else {
      const until = new Date(Date.now() + DEMO_APPROVAL_SECONDS * 1000).toISOString();
      io.out(
        `Open an approval link above in a browser and press Approve or Reject. Waiting until ${until} (${DEMO_APPROVAL_SECONDS} s); without a decision nothing that needs approval is applied. Run with --approve to decide automatically.`,
      );
    }
    const done = await guardrail.completion(name)!;
    io.out(`  execution ${name}: ${done.status}, states ${done.states.join(' > ')}`);
    printRecord(io, await guardrail.ledgerRecord(name));
    io.out(
      `after: URL AuthType ${await urlAuthType(endpoint, fn)}; statements ${(await policySids(endpoint, fn)).join(', ') || '(none)'}`,
    );
    return done.status === 'SUCCEEDED' ? 0 : 1;
  } finally {
    await guardrail.close();
  }
}

/** The statement ids of a layer version's policy (empty when it has none). */
async function layerSids(endpoint: string, layer: string, version: number): Promise<string[]> {
  const { lambda } = emulatorClients(endpoint);
  try {
    const r = await lambda.send(
      new GetLayerVersionPolicyCommand({ LayerName: layer, VersionNumber: version }),
    );
    return parsePolicyDocument(r.Policy ?? '{}').Statement.map((st) => st.Sid ?? '?');
  } catch {
    return [];
  }
}

/** LAMBDA.LAYER.PUBLIC (auto): a layer version shared with every AWS account is unshared; the org grant stays. */
async function layerScenario(io: Io, endpoint: string, guardrail: LocalGuardrail): Promise<void> {
  io.out('\n== A layer version shared with every AWS account (LAMBDA.LAYER.PUBLIC, auto) ==');
  const layer = 'shared-utils';
  const { version } = await seedLayer(endpoint, {
    name: layer,
    permissions: [
      {
        StatementId: 'org-accounts',
        Action: 'lambda:GetLayerVersion',
        Principal: '*',
        OrganizationId: 'o-a1b2c3d4e5',
      },
      { StatementId: 'everyone', Action: 'lambda:GetLayerVersion', Principal: '*' },
    ],
  });
  io.out(
    `seeded layer ${layer}:${version}; statements ${(await layerSids(endpoint, layer, version)).join(', ')}`,
  );
  const event = lambdaEvent('AddLayerVersionPermission20181031', {
    layerName: layer,
    versionNumber: version,
    statementId: 'everyone',
    action: 'lambda:GetLayerVersion',
    principal: '*',
  });
  const r = await guardrail.ingest(event);
  io.out(`event AddLayerVersionPermission20181031 -> ingest: ${r.status}`);
  if (r.status === 'started') {
    const exec = guardrail.executions.get(r.executionName!);
    io.out(`  execution ${r.executionName}: ${exec?.status}, states ${exec?.states.join(' > ')}`);
    printRecord(io, await guardrail.ledgerRecord(r.executionName!));
  }
  io.out(
    `after: statements ${(await layerSids(endpoint, layer, version)).join(', ')} (the organization grant stays)`,
  );
}

export async function runDemo(argv: string[], io: Io): Promise<number> {
  if (argv.some((a) => a !== '--approve')) {
    io.err(`guardrail: demo takes no options except --approve (got ${argv.join(' ')})`);
    return 2;
  }
  io.out('Starting the local AWS emulator (first run installs moto into .venv-emulator)...');
  const emulator = await startEmulator({ log: (m) => io.err(m) });
  try {
    const endpoint = emulator.endpoint;
    const guardrail = new LocalGuardrail({ endpoint, region: DEMO_REGION, logLevel: 'SILENT' });
    await guardrail.setup();

    io.out('\n== Scenario 1: a function URL opened to the internet, plus a public invoke backdoor ==');
    const api = 'orders-api';
    await seedFunction(endpoint, {
      name: api,
      environment: { TABLE_NAME: 'orders', LOG_LEVEL: 'info' },
      url: {
        authType: 'NONE',
        cors: { AllowOrigins: ['https://shop.example.com'], AllowMethods: ['GET', 'POST'] },
      },
      permissions: [
        ...PUBLIC_URL_PERMISSIONS,
        { StatementId: 'backdoor', Action: 'lambda:InvokeFunction', Principal: '*' },
        ...RESTRICTED_PERMISSIONS,
      ],
    });
    io.out(
      `seeded ${api}: URL AuthType ${await urlAuthType(endpoint, api)}; statements ${(await policySids(endpoint, api)).join(', ')}`,
    );

    const events = [
      lambdaEvent('CreateFunctionUrlConfig', {
        functionName: api,
        authType: 'NONE',
        cors: {},
        invokeMode: 'BUFFERED',
      }),
      lambdaEvent('AddPermission20150331v2', {
        functionName: api,
        statementId: 'backdoor',
        action: 'lambda:InvokeFunction',
        principal: '*',
      }),
    ];
    for (const e of events) {
      const r = await guardrail.ingest(e);
      io.out(`\nevent ${e.detail.eventName} (${e.detail.eventID}) -> ingest: ${r.status}`);
      if (r.status === 'started') {
        const exec = guardrail.executions.get(r.executionName!);
        io.out(`  execution ${r.executionName}: ${exec?.status}, states ${exec?.states.join(' > ')}`);
        printRecord(io, await guardrail.ledgerRecord(r.executionName!));
      }
    }
    const again = await guardrail.ingest(events[0]);
    io.out(
      `\nthe same CreateFunctionUrlConfig event delivered again -> ingest: ${again.status} (no second execution)`,
    );
    io.out(
      `\nafter: URL AuthType ${await urlAuthType(endpoint, api)}; statements ${(await policySids(endpoint, api)).join(', ')}`,
    );

    io.out('\n== Scenario 2: a public webhook with a time-limited exemption ==');
    const hook = 'stripe-webhook';
    await seedFunction(endpoint, {
      name: hook,
      tags: {
        'guardrail:exempt': 'LAMBDA.URL.PUBLIC',
        'guardrail:exempt-reason': 'verifies Stripe signatures itself (SEC-123)',
        'guardrail:exempt-until': '2099-12-31',
      },
      url: { authType: 'NONE' },
      permissions: PUBLIC_URL_PERMISSIONS,
    });
    const hookEvent = lambdaEvent('CreateFunctionUrlConfig', { functionName: hook, authType: 'NONE' });
    const hr = await guardrail.ingest(hookEvent);
    io.out(`event CreateFunctionUrlConfig -> ingest: ${hr.status}`);
    if (hr.status === 'started') printRecord(io, await guardrail.ledgerRecord(hr.executionName!));
    io.out(`after: URL AuthType ${await urlAuthType(endpoint, hook)} (unchanged while exempt)`);

    io.out("\n== Scenario 3: the guardrail's own change is not re-processed ==");
    const own = lambdaEvent(
      'RemovePermission20150331v2',
      { functionName: api, statementId: 'backdoor' },
      {
        sessionIssuerArn: `arn:aws:iam::${DEMO_ACCOUNT}:role/lambda-guardrail-remediate`,
        actorArn: `arn:aws:sts::${DEMO_ACCOUNT}:assumed-role/lambda-guardrail-remediate/exec`,
      },
    );
    guardrail.deps.excludedPrincipals = [`arn:aws:iam::${DEMO_ACCOUNT}:role/lambda-guardrail-remediate`];
    const or = await guardrail.ingest(own);
    io.out(`event RemovePermission by the guardrail's role -> ingest: ${or.status}`);

    io.out('\n== Scenario 4: a malformed event is recorded, not dropped ==');
    const bad = {
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.lambda',
      detail: { eventName: 'AddPermission20150331v2' },
    };
    const br = await guardrail.ingest(bad);
    io.out(`malformed event -> ingest: ${br.status} (${'reason' in br ? br.reason : ''})`);

    await layerScenario(io, endpoint, guardrail);

    await secretsScenario(io, endpoint);

    const approvalFailed =
      (await approvalScenario(io, endpoint, argv.includes('--approve'))) +
      (await roleScenario(io, endpoint, {
        autoApprove: argv.includes('--approve'),
        approvers: APPROVERS,
        approvalSeconds: DEMO_APPROVAL_SECONDS,
        approve: approveThroughThePage,
        printRecord,
      }));

    const failed = [...guardrail.executions.values()].filter((e) => e.status !== 'SUCCEEDED');
    io.out(
      `\nDemo finished: ${guardrail.executions.size + 2} execution(s), ${failed.length + approvalFailed} failed.`,
    );
    return failed.length || approvalFailed ? 1 : 0;
  } finally {
    await emulator.stop();
  }
}
