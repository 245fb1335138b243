import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { AwsClients } from './clients.ts';
import { errorName } from './clients.ts';

export interface KillSwitchState {
  on: boolean;
  reason: string;
}

const ON = new Set(['on', 'true', '1', 'enabled', 'yes']);

/**
 * Reads the kill switch. A missing parameter means off; any other failure to read it counts as ON
 * (fail safe: the guardrail then only reports, and the reason is recorded).
 */
export async function readKillSwitch(
  clients: AwsClients,
  region: string,
  name: string,
): Promise<KillSwitchState> {
  try {
    const r = await clients.get(SSMClient, region).send(new GetParameterCommand({ Name: name }));
    const value = (r.Parameter?.Value ?? '').trim().toLowerCase();
    return ON.has(value)
      ? { on: true, reason: `kill switch ${name} is '${value}'` }
      : { on: false, reason: 'off' };
  } catch (err) {
    if (errorName(err) === 'ParameterNotFound')
      return { on: false, reason: `kill switch ${name} does not exist` };
    return {
      on: true,
      reason: `kill switch ${name} could not be read (${errorName(err)}); failing safe to report`,
    };
  }
}
