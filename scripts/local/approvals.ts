import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateEmailIdentityCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import type { EmailMessage } from '../../functions/core/approval-render.ts';
import { emulatorClientConfig, REPO_ROOT } from './emulator.ts';

/**
 * Approvals in the local runtime: the approval endpoint handler served on a loopback port (each HTTP
 * request becomes a Lambda function URL event, and the handler's response becomes the HTTP response),
 * a local outbox where every email is written, and the emulator resources the handlers use (the
 * HMAC key secret and the SES sender identity). Emulator and local plumbing only: the deployed
 * product uses a real function URL, Secrets Manager and SES.
 */

export const DEFAULT_OUTBOX = join(REPO_ROOT, '.local', 'outbox');

export interface UrlEventResponse {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
  cookies?: string[];
}

export type UrlHandler = (event: unknown) => Promise<UrlEventResponse>;

const MAX_BODY = 64 * 1024;
const TEXT_TYPES = /^(text\/|application\/(json|x-www-form-urlencoded|xml))/i;

/** The Lambda function URL event (payload format 2.0) for one HTTP request. */
export function functionUrlEvent(req: IncomingMessage, body: Buffer, port: number) {
  const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  }
  // A function URL sits behind HTTPS and says so; locally the scheme is http.
  headers['x-forwarded-proto'] = 'http';
  const cookies = headers['cookie'] ? headers['cookie'].split(/;\s*/) : undefined;
  const textual = !headers['content-type'] || TEXT_TYPES.test(headers['content-type']);
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    ...(cookies ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      domainName: `127.0.0.1:${port}`,
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomBytes(8).toString('hex'),
      routeKey: '$default',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length ? { body: textual ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !textual,
  };
}

export interface FunctionUrlServer {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves a function URL handler on 127.0.0.1 (port 0: a free one). Requests are not logged. */
export function serveFunctionUrl(
  handler: UrlHandler,
  opts: { port?: number } = {},
): Promise<FunctionUrlServer> {
  let port = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', async () => {
      try {
        if (size > MAX_BODY) {
          res.writeHead(413, { 'content-type': 'text/plain' }).end('request body too large');
          return;
        }
        const r = await handler(functionUrlEvent(req, Buffer.concat(chunks), port));
        const headers: Record<string, string | string[]> = { ...(r.headers ?? {}) };
        if (r.cookies?.length) headers['set-cookie'] = r.cookies;
        res.writeHead(r.statusCode, headers);
        res.end(r.body ? Buffer.from(r.body, r.isBase64Encoded ? 'base64' : 'utf8') : undefined);
      } catch {
        res.writeHead(502, { 'content-type': 'text/plain' }).end('the handler failed');
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      const addr = server.address();
      port = typeof addr === 'object' && addr ? addr.port : 0;
      resolve({
        url: `http://127.0.0.1:${port}/`,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** Writes each email to `<dir>/<n>-<recipient>.txt` (headers and text part) and `.html`. */
export class Outbox {
  readonly messages: EmailMessage[] = [];
  private n = 0;
  constructor(readonly dir: string = DEFAULT_OUTBOX) {}

  write(m: EmailMessage): string {
    mkdirSync(this.dir, { recursive: true });
    const stamp = `${Date.now()}-${String(++this.n).padStart(3, '0')}`;
    const base = join(this.dir, `${stamp}-${m.to.replace(/[^A-Za-z0-9@._-]/g, '_')}`);
    writeFileSync(`${base}.txt`, `From: ${m.from}\nTo: ${m.to}\nSubject: ${m.subject}\n\n${m.text}\n`);
    writeFileSync(`${base}.html`, m.html);
    this.messages.push(m);
    return `${base}.txt`;
  }
}

/** The emulator resources approvals need: the HMAC key secret and a verified SES sender identity. */
export async function seedApprovalResources(
  endpoint: string,
  region: string,
  opts: { keySecret: string; sender?: string | null },
): Promise<void> {
  const cfg = emulatorClientConfig(endpoint, region);
  const sm = new SecretsManagerClient(cfg);
  const ses = new SESv2Client(cfg);
  try {
    try {
      await sm.send(
        new CreateSecretCommand({
          Name: opts.keySecret,
          SecretString: JSON.stringify({ current: randomBytes(48).toString('base64url') }),
        }),
      );
    } catch (err) {
      if ((err as Error).name !== 'ResourceExistsException') throw err;
    }
    if (opts.sender) {
      try {
        // SES refuses mail from an unverified sender, in moto as in the SES sandbox.
        await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: opts.sender }));
      } catch (err) {
        if (!['AlreadyExistsException', 'AlreadyExists'].includes((err as Error).name)) throw err;
      }
    }
  } finally {
    sm.destroy();
    ses.destroy();
  }
}
