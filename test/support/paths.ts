/**
 * The state sequences of state-machines/guardrail.asl.json that tests assert, in one place: a change
 * to the ASL changes them here once.
 */
export const PATH_RECORD_ONLY = ['Collect', 'Evaluate', 'Route', 'Record', 'Succeeded?', 'Done'];
export const PATH_REMEDIATED = [
  'Collect',
  'Evaluate',
  'Route',
  'Remediate',
  'Remediated?',
  'Verify',
  'Record',
  'Succeeded?',
  'Done',
];
export const PATH_NOT_APPLIED = [
  'Collect',
  'Evaluate',
  'Route',
  'Remediate',
  'Remediated?',
  'Record',
  'Succeeded?',
  'Done',
];
export const PATH_APPROVED = [
  'Collect',
  'Evaluate',
  'Route',
  'RequestApproval',
  'RemediateAfterDecision',
  'Remediated?',
  'Verify',
  'Record',
  'Succeeded?',
  'Done',
];
export const PATH_REJECTED = [
  'Collect',
  'Evaluate',
  'Route',
  'RequestApproval',
  'ApprovalRejected',
  'RemediateAfterDecision',
  'Remediated?',
  'Record',
  'Succeeded?',
  'Done',
];

/** A path through the Prove state: Route sends findings that need proof to Prove, which returns to Route. */
export const proved = (path: readonly string[]): string[] => {
  const i = path.indexOf('Route');
  return [...path.slice(0, i + 1), 'Prove', 'Route', ...path.slice(i + 1)];
};
