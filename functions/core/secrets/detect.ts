import { findFormat } from './formats.ts';
import { classifyName, type NameClass } from './names.ts';
import type { Detection, EnvFinding } from './types.ts';
import {
  charClasses,
  entropy,
  isDigest,
  isEmail,
  isIdentifierLike,
  isPath,
  isPlaceholder,
  isPublicKey,
  isReference,
  isSetting,
  isUrl,
  looksRandom,
  UUID,
} from './values.ts';

/** Every detector id this module can return. */
export const DETECTOR_IDS = [
  'private-key',
  'aws-access-key-id',
  'aws-secret-access-key',
  'github-token',
  'gitlab-token',
  'slack-token',
  'slack-webhook',
  'stripe-secret-key',
  'stripe-webhook-secret',
  'sendgrid-api-key',
  'twilio-api-key',
  'twilio-auth-token',
  'openai-api-key',
  'anthropic-api-key',
  'npm-token',
  'datadog-api-key',
  'datadog-app-key',
  'jwt',
  'google-api-key',
  'huggingface-token',
  'shopify-token',
  'databricks-token',
  'docker-pat',
  'figma-token',
  'grafana-token',
  'groq-api-key',
  'vault-token',
  'linear-api-key',
  'notion-token',
  'tailscale-key',
  'vercel-token',
  'cloudflare-token',
  '1password-token',
  'pypi-token',
  'mailchimp-api-key',
  'telegram-bot-token',
  'discord-bot-token',
  'square-token',
  'basic-auth',
  'bearer-token',
  'db-url-password',
  'url-password',
  'connection-string-password',
  'json-password',
  'named-password',
  'named-secret',
  'named-secret-high-entropy',
] as const;

/**
 * Values longer than this are cut before matching (Lambda allows 4 KB for all variables together);
 * every pattern is linear or bounded, so the cost of a call is bounded too.
 */
const MAX_VALUE_LENGTH = 16 * 1024;
const MAX_JSON_DEPTH = 3;
const MAX_JSON_LEAVES = 500;
const MAX_JSON_NESTING = 32;

/**
 * Is this (name, value) pair a secret? Looks at the value for known credential formats, at JSON
 * values field by field, and at the name for words that say secret (then at the value's shape).
 * The result never holds the value or any part of it.
 */
export function detectSecret(name: string, value: string): Detection | undefined {
  return detect(typeof name === 'string' ? name : '', value, 0);
}

/**
 * Every variable of a Lambda environment that holds a secret: name, detector, confidence, reason.
 * Never a value. Non-string values (not possible from the Lambda API) are read as their string form;
 * `null`/`undefined` are skipped.
 */
export function scanEnvironment(vars: Record<string, string>): EnvFinding[] {
  const out: EnvFinding[] = [];
  for (const [name, value] of Object.entries(vars ?? {})) {
    if (value === null || value === undefined) continue;
    const d = detectSecret(name, String(value));
    if (d) out.push({ name, detector: d.detector, confidence: d.confidence, reason: d.reason });
  }
  return out;
}

function detect(name: string, raw: unknown, depth: number): Detection | undefined {
  if (typeof raw !== 'string') return undefined;
  const v = (raw.length > MAX_VALUE_LENGTH ? raw.slice(0, MAX_VALUE_LENGTH) : raw).trim();
  if (!v) return undefined;

  const format = findFormat(v);
  if (format) {
    return {
      detector: format.id,
      confidence: format.confidence,
      reason: `the value contains ${format.label}`,
    };
  }
  if (depth < MAX_JSON_DEPTH && /^[[{]/.test(v)) {
    const hit = detectJson(v, depth);
    if (hit) return hit;
  }
  return detectByName(name, v);
}

/** A JSON object or array holding a secret in one of its fields (`{"password": "..."}`). */
function detectJson(v: string, depth: number): Detection | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(v);
  } catch {
    return undefined;
  }
  if (!doc || typeof doc !== 'object') return undefined;
  const leaves: [string, string][] = [];
  let jwk = false;
  const walk = (node: unknown, key: string, level: number) => {
    if (leaves.length >= MAX_JSON_LEAVES || level > MAX_JSON_NESTING) return;
    if (Array.isArray(node)) for (const item of node) walk(item, key, level + 1);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      // A JSON Web Key with its private part (`d`: RSA/EC private exponent, `k`: symmetric key).
      if (
        typeof o.kty === 'string' &&
        (typeof o.d === 'string' || (o.kty === 'oct' && typeof o.k === 'string'))
      ) {
        jwk = true;
      }
      for (const [k, child] of Object.entries(o)) walk(child, k, level + 1);
    } else if (typeof node === 'string') leaves.push([key, node]);
  };
  walk(doc, '', 0);
  if (jwk) {
    return {
      detector: 'private-key',
      confidence: 'high',
      reason: 'the value is a JSON Web Key with its private or symmetric key part (a JWT signing key)',
    };
  }
  for (const [key, leaf] of leaves) {
    const hit = detect(key, leaf, depth + 1);
    if (!hit) continue;
    const field = /^[\w.-]{1,64}$/.test(key) && !findFormat(key) ? `"${key}"` : 'a field';
    const named = hit.detector.startsWith('named-') || hit.detector === 'json-password';
    return {
      detector: named ? 'json-password' : hit.detector,
      confidence: hit.confidence,
      reason: `JSON config, field ${field}: ${hit.reason}`,
    };
  }
  return undefined;
}

/** Not a secret whatever the name says: settings, references, placeholders, URLs, paths, addresses. */
function isNonSecretShape(v: string): boolean {
  return (
    !/[A-Za-z0-9]/.test(v) ||
    isSetting(v) ||
    isReference(v) ||
    isPlaceholder(v) ||
    isUrl(v) ||
    isPath(v) ||
    isEmail(v) ||
    isPublicKey(v) ||
    isDigest(v)
  );
}

/** A token-shaped value: one word, at least 10 characters, letters and digits (or 3 kinds of character). */
function looksLikeToken(v: string): boolean {
  if (v.length < 10 || /\s/.test(v) || isIdentifierLike(v)) return false;
  const mixed = (/[A-Za-z]/.test(v) && /\d/.test(v)) || charClasses(v) >= 3;
  return mixed && entropy(v) >= 2.5;
}

function vendorByName(cls: NameClass, v: string): Detection | undefined {
  if (cls.awsSecret && /^[A-Za-z0-9/+]{40}$/.test(v) && looksRandom(v)) {
    return {
      detector: 'aws-secret-access-key',
      confidence: 'high',
      reason: 'the name says AWS secret access key and the value has its format (40 base64 characters)',
    };
  }
  if (cls.datadog === 'api' && /^[a-f0-9]{32}$/.test(v)) {
    return {
      detector: 'datadog-api-key',
      confidence: 'high',
      reason: 'the name says Datadog API key and the value has its format (32 hex digits)',
    };
  }
  if (cls.datadog === 'app' && /^[a-f0-9]{40}$/.test(v)) {
    return {
      detector: 'datadog-app-key',
      confidence: 'high',
      reason: 'the name says Datadog application key and the value has its format (40 hex digits)',
    };
  }
  if (cls.twilioAuthToken && /^[a-f0-9]{32}$/.test(v)) {
    return {
      detector: 'twilio-auth-token',
      confidence: 'high',
      reason: 'the name says Twilio auth token and the value has its format (32 hex digits)',
    };
  }
  return undefined;
}

/**
 * The name-based half alone (vendor names, secret-named variables, entropy), without the known
 * formats and JSON. Exported for the benchmark's library+names combination; the rule uses
 * `detectSecret`.
 */
export function detectByName(name: string, value: string): Detection | undefined {
  const cls = classifyName(name);
  if (!cls) return undefined;
  // `Authorization`-style values: judge the credential, not the scheme word.
  const v = value.trim().replace(/^(?:Bearer|Token|token|Bot)\s+(?=\S+$)/, '');
  if (isNonSecretShape(v)) return undefined;
  const vendor = vendorByName(cls, v);
  if (vendor) return vendor;
  const random = looksRandom(v, 12);
  const word = cls.word;
  switch (cls.tier) {
    case 'password':
    case 'secret': {
      if (v.length < 4) return undefined;
      return {
        detector: cls.tier === 'password' ? 'named-password' : 'named-secret',
        confidence: random ? 'high' : 'medium',
        reason: random
          ? `the name says ${word} and the value is a random-looking literal`
          : `the name says ${word} and the value is a literal (not a reference, placeholder or setting)`,
      };
    }
    case 'token': {
      if (!looksLikeToken(v) || UUID.test(v)) return undefined;
      return {
        detector: 'named-secret-high-entropy',
        confidence: looksRandom(v, 20) ? 'high' : 'medium',
        reason: `the name says ${word} and the value is token-shaped`,
      };
    }
    case 'key': {
      if (!looksRandom(v, 16)) return undefined;
      return {
        detector: 'named-secret-high-entropy',
        confidence: 'medium',
        reason: `the name says ${word} and the value is long and random-looking`,
      };
    }
  }
}
