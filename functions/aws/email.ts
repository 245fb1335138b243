import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { EmailMessage } from '../core/approval-render.ts';
import type { AwsClients } from './clients.ts';

/** Sends one message (HTML and text) to one recipient with SES v2 `SendEmail`. */
export async function sendEmail(
  clients: AwsClients,
  region: string,
  m: EmailMessage,
): Promise<string | undefined> {
  const r = await clients.get(SESv2Client, region).send(
    new SendEmailCommand({
      FromEmailAddress: m.from,
      Destination: { ToAddresses: [m.to] },
      Content: {
        Simple: {
          Subject: { Data: m.subject, Charset: 'UTF-8' },
          Body: { Text: { Data: m.text, Charset: 'UTF-8' }, Html: { Data: m.html, Charset: 'UTF-8' } },
        },
      },
    }),
  );
  return r.MessageId;
}
