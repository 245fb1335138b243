import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/functions.ts';
import { ASL_PATH, aslPlaceholders, checkSubstitutions, readAsl } from '../../lib/state-machine.ts';
import { defaultSynth, type Loose, logicalIdOf, placeholder } from './helpers.ts';

// asl-validator 4 is CommonJS without type declarations: `validator(definition, options)`.
type AslValidator = (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

const built = defaultSynth();
const smId = logicalIdOf(built, built.stack.stateMachine);
const sm = built.json.Resources[smId].Properties as Loose;

const FUNCTION_OF: Record<
  string,
  'collect' | 'evaluate' | 'prove' | 'remediate' | 'verify' | 'record' | 'request-approval'
> = {
  CollectFunctionArn: 'collect',
  EvaluateFunctionArn: 'evaluate',
  ProveFunctionArn: 'prove',
  RemediateFunctionArn: 'remediate',
  VerifyFunctionArn: 'verify',
  RecordFunctionArn: 'record',
  RequestApprovalFunctionArn: 'request-approval',
};

describe('state machine', () => {
  it('is a STANDARD workflow defined by state-machines/guardrail.asl.json', () => {
    expect(sm.StateMachineType).toBe('STANDARD');
    expect(JSON.parse(sm.DefinitionString)).toEqual(JSON.parse(readAsl()));
  });

  it('substitutes every placeholder of the ASL with the matching function ARN; none is left', () => {
    const placeholders = aslPlaceholders(sm.DefinitionString);
    expect(placeholders.length).toBeGreaterThan(0);
    expect(Object.keys(sm.DefinitionSubstitutions).sort()).toEqual(placeholders);
    for (const [name, value] of Object.entries(sm.DefinitionSubstitutions)) {
      const fn = built.stack.functions[FUNCTION_OF[name]];
      expect(fn, `unexpected placeholder ${name}`).toBeDefined();
      expect(value).toEqual({ 'Fn::GetAtt': [logicalIdOf(built, fn.fn), 'Arn'] });
    }
    let text = sm.DefinitionString as string;
    for (const name of placeholders)
      text = text.replaceAll(placeholder(name), `arn:aws:lambda:us-east-1:123456789012:function:${name}`);
    expect(text).not.toMatch(/\$\{/);
  });

  it('logs ALL events with execution data to its own log group, and traces with X-Ray', () => {
    expect(sm.LoggingConfiguration).toEqual({
      Level: 'ALL',
      IncludeExecutionData: true,
      Destinations: [
        {
          CloudWatchLogsLogGroup: {
            LogGroupArn: { 'Fn::GetAtt': [expect.stringMatching(/^StateMachineLogs/), 'Arn'] },
          },
        },
      ],
    });
    expect(sm.TracingConfiguration).toEqual({ Enabled: true });
  });

  it('checkSubstitutions() names missing and unused placeholders', () => {
    const text = JSON.stringify({ a: placeholder('One'), b: placeholder('Two') });
    expect(() => checkSubstitutions(text, { One: 'x', Two: 'y' })).not.toThrow();
    expect(() => checkSubstitutions(text, { One: 'x' })).toThrow(/missing \$\{Two\}/);
    expect(() => checkSubstitutions(text, { One: 'x', Two: 'y', Three: 'z' })).toThrow(/unused Three/);
  });
});

describe('asl-validator over every state-machines/*.asl.json', () => {
  const dir = join(PROJECT_ROOT, 'state-machines');
  const files = readdirSync(dir).filter((f) => f.endsWith('.asl.json'));

  it('finds the deployed definition', () => {
    expect(files.map((f) => join(dir, f))).toContain(ASL_PATH);
  });

  for (const file of files) {
    it(`${file} is valid ASL (as written, and with the placeholders substituted by ARNs)`, () => {
      const text = readFileSync(join(dir, file), 'utf8');
      // The schema accepts a `${Name}` Resource as a deploy-time substitution when ARN checks are on
      // (with them off both alternatives match and `oneOf` fails), so validate with the defaults.
      const raw = aslValidator(JSON.parse(text), { checkPaths: true, checkArn: true });
      expect(raw.isValid, raw.errorsText('\n')).toBe(true);
      let substituted = text;
      for (const name of aslPlaceholders(text)) {
        substituted = substituted.replaceAll(
          `\${${name}}`,
          `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
        );
      }
      const full = aslValidator(JSON.parse(substituted), { checkPaths: true, checkArn: true });
      expect(full.isValid, full.errorsText('\n')).toBe(true);
    });
  }
});
