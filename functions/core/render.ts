import type { Evaluation } from './evaluate.ts';
import type { Finding, NormalizedEvent, PlanStep } from './types.ts';

/**
 * Output of `guardrail evaluate`. The JSON shape is a public contract (docs/snapshot.md):
 * `{ event, findings: [{ ruleId, severity, resourceArn, summary, mode, exempt, plan: { steps: [...] } }] }`
 * plus additive fields. Nothing here ever holds a secret value: snapshots are not echoed.
 */
export function evaluationJson(event: NormalizedEvent | undefined, evaluation: Evaluation) {
  return {
    event: event ?? null,
    target: evaluation.target ?? null,
    route: evaluation.route,
    results: evaluation.results,
    findings: evaluation.findings.map(findingJson),
  };
}

export function findingJson(f: Finding) {
  return {
    ruleId: f.ruleId,
    title: f.title,
    severity: f.severity,
    resourceArn: f.resourceArn,
    summary: f.summary,
    mode: f.mode,
    modeReason: f.modeReason,
    exempt: f.exempt,
    ...(f.exemption ? { exemption: f.exemption } : {}),
    evidence: f.evidence,
    plan: {
      steps: f.plan.steps.map((s) => ({
        service: s.service,
        operation: s.operation,
        parameters: s.parameters,
        reason: s.reason,
        ...(s.inverse ? { inverse: s.inverse } : {}),
      })),
      preconditions: f.plan.preconditions,
    },
  };
}

export function stepLine(s: Pick<PlanStep, 'service' | 'operation' | 'parameters'>): string {
  return `${s.service}:${s.operation} ${JSON.stringify(s.parameters)}`;
}

export function evaluationTable(event: NormalizedEvent | undefined, evaluation: Evaluation): string {
  const lines: string[] = [];
  if (event) {
    lines.push(
      `Event    ${event.eventName} by ${event.actor.arn ?? event.actor.type} at ${event.time} (${event.eventId})`,
    );
  }
  if (evaluation.target) lines.push(`Resource ${evaluation.target.arn}`);
  for (const r of evaluation.results) {
    lines.push(`  ${r.status.padEnd(14)} ${r.ruleId}${r.reason ? ` (${r.reason})` : ''}`);
  }
  if (!evaluation.findings.length) {
    lines.push('', 'No findings: compliant.');
    return lines.join('\n');
  }
  for (const f of evaluation.findings) {
    lines.push(
      '',
      `[${f.severity}] ${f.ruleId}  mode=${f.mode}${f.exempt ? ' EXEMPT' : ''}`,
      `  ${f.summary}`,
    );
    if (f.exemption) {
      lines.push(
        `  exemption: ${f.exemption.status}${f.exemption.reason ? `, "${f.exemption.reason}"` : ''}${f.exemption.until ? ` until ${f.exemption.until}` : ''}${f.exemption.note ? ` (${f.exemption.note})` : ''}`,
      );
    }
    lines.push(`  mode: ${f.modeReason}`);
    lines.push(f.exempt ? '  plan (not applied while exempt):' : '  plan:');
    f.plan.steps.forEach((s, i) => {
      lines.push(`    ${i + 1}. ${stepLine(s)}`, `       why: ${s.reason}`);
    });
    if (!f.plan.steps.length) lines.push('    (no automatic fix; see the summary)');
  }
  const live = evaluation.findings.filter((f) => !f.exempt).length;
  lines.push('', `${evaluation.findings.length} finding(s), ${live} not exempt; route: ${evaluation.route}`);
  return lines.join('\n');
}
