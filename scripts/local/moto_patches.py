"""Small patches, applied on import before moto's server starts, that make its Lambda resource policies behave like AWS.

The guardrail follows AWS, not the emulator. Where moto 5.2.5 differs from AWS in a way that
would make the demo and the integration tests exercise something AWS never does, this file patches
moto at start-up, and each patch says which AWS behaviour it restores. The integration test
`test/integration/emulator.test.ts` pins every patched behaviour.

1. AddPermission with FunctionUrlAuthType / InvokedViaFunctionUrl: moto stores them as top-level
   statement fields; AWS stores conditions
   `{"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}` and
   `{"Bool": {"lambda:InvokedViaFunctionUrl": "true"}}`.
2. AddPermission with a bare account id as Principal: AWS returns `{"AWS": "arn:aws:iam::<id>:root"}`.
3. RemovePermission with RevisionId: moto compares the policy revision with the raw query-string
   list, so every RevisionId is rejected; AWS accepts the current one and rejects others with
   PreconditionFailedException.
4. RemovePermission: moto keeps the policy's RevisionId; AWS issues a new one on every change.
5. Function RevisionId: moto returns none (GetFunctionConfiguration, UpdateFunctionConfiguration) and
   ignores the RevisionId of UpdateFunctionConfiguration; AWS returns one, issues a new one on every
   configuration or code update, and rejects a stale one with PreconditionFailedException (412).
6. ListFunctions: moto returns every function in one response; AWS returns at most 50 per page
   (fewer with MaxItems) with a NextMarker, so a caller that does not paginate misses functions.
7. STS AssumeRole: moto lets any caller assume any role, even one that does not exist; AWS requires
   the role to exist and its trust policy to allow the caller (principal, sts:ExternalId,
   aws:PrincipalOrgID).
8. AddLayerVersionPermission with OrganizationId: moto stores it as a top-level statement field
   (`"OrganizationId": "o-..."`), which makes an organization-only grant look public; AWS stores
   the condition `{"StringEquals": {"aws:PrincipalOrgID": "o-..."}}`. Pinned by
   test/integration/layer.test.ts.
9. UpdateFunctionConfiguration with TracingConfig: moto ignores it (the function keeps PassThrough);
   AWS sets the mode (LAMBDA.TRACING's plan). Pinned by test/integration/checklist-b.test.ts.
10. IAM Access Advisor (GenerateServiceLastAccessedDetails / GetServiceLastAccessedDetails): moto
   does not implement it and answers 500 with an HTML page the SDK cannot parse. AWS always answers.
   The emulator has no access data to report, so it answers in AWS's shapes with the one honest
   outcome: a JobId (NoSuchEntity for a role that does not exist), then a FAILED job whose Error says
   the emulator has no Access Advisor data (the guardrail treats a FAILED job as no usable evidence).
   Pinned by test/integration/iam-role.test.ts.

Imported by the emulator bootstrap in scripts/local/emulator.ts.
"""

import re

from moto.awslambda import models as lambda_models
from moto.awslambda import policy as lambda_policy
from moto.awslambda.exceptions import PreconditionFailedException
from moto.moto_api._internal import mock_random

_Policy = lambda_policy.Policy
_orig_decode = _Policy.decode_policy
_orig_del = _Policy.del_statement


def _decode_policy(self, obj):
    org_id = obj.pop("OrganizationId", None)
    auth_type = obj.pop("FunctionUrlAuthType", None)
    via_url = obj.pop("InvokedViaFunctionUrl", None)
    principal = obj.get("Principal")
    if isinstance(principal, str) and re.fullmatch(r"\d{12}", principal):
        obj["Principal"] = {"AWS": f"arn:aws:iam::{principal}:root"}
    result = _orig_decode(self, obj)
    statement = result.statements[0]
    if auth_type is not None:
        statement.setdefault("Condition", {}).setdefault("StringEquals", {})[
            "lambda:FunctionUrlAuthType"
        ] = auth_type
    if via_url is not None:
        value = "true" if via_url in (True, "true", "True") else "false"
        statement.setdefault("Condition", {}).setdefault("Bool", {})["lambda:InvokedViaFunctionUrl"] = value
    if org_id is not None:
        statement.setdefault("Condition", {}).setdefault("StringEquals", {})["aws:PrincipalOrgID"] = org_id
    return result


def _del_statement(self, sid, revision=""):
    if isinstance(revision, list):
        revision = revision[0] if revision else ""
    _orig_del(self, sid, revision)
    self.revision = str(mock_random.uuid4())


_Policy.decode_policy = _decode_policy
_Policy.del_statement = _del_statement


# 6. ListFunctions pages like AWS: at most 50 functions per response (MaxItems lowers it), NextMarker
#    when more remain, Marker to continue. The marker is opaque to callers (here: the next index).
from moto.awslambda import responses as lambda_responses  # noqa: E402

_LIST_FUNCTIONS_PAGE = 50
_orig_list_functions = lambda_responses.LambdaResponse.list_functions


def _list_functions(self):
    import json

    body = json.loads(_orig_list_functions(self))
    functions = body.get("Functions", [])
    q = self.querystring
    try:
        size = int(q.get("MaxItems", [_LIST_FUNCTIONS_PAGE])[0])
    except (TypeError, ValueError):
        size = _LIST_FUNCTIONS_PAGE
    size = max(1, min(size, _LIST_FUNCTIONS_PAGE))
    marker = q.get("Marker", [None])[0]
    start = int(marker) if marker and str(marker).isdigit() else 0
    page = {"Functions": functions[start : start + size]}
    if start + size < len(functions):
        page["NextMarker"] = str(start + size)
    return json.dumps(page)


lambda_responses.LambdaResponse.list_functions = _list_functions


# 5. Function RevisionId (UpdateFunctionConfiguration with RevisionId, as on AWS).
_Function = lambda_models.LambdaFunction
_orig_get_configuration = _Function.get_configuration
_orig_update_configuration = _Function.update_configuration
_orig_update_function_code = _Function.update_function_code


def _function_revision(fn):
    revision = getattr(fn, "_guardrail_revision_id", None)
    if revision is None:
        revision = str(mock_random.uuid4())
        fn._guardrail_revision_id = revision
    return revision


def _get_configuration(self, *args, **kwargs):
    config = _orig_get_configuration(self, *args, **kwargs)
    config["RevisionId"] = _function_revision(self)
    return config


def _update_configuration(self, config_updates):
    expected = config_updates.get("RevisionId")
    if expected and expected != _function_revision(self):
        raise PreconditionFailedException(
            "The Revision Id provided does not match the latest Revision Id. "
            "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
        )
    self._guardrail_revision_id = str(mock_random.uuid4())
    return _orig_update_configuration(self, config_updates)


def _update_function_code(self, updated_spec):
    self._guardrail_revision_id = str(mock_random.uuid4())
    return _orig_update_function_code(self, updated_spec)


_Function.get_configuration = _get_configuration
_Function.update_configuration = _update_configuration
_Function.update_function_code = _update_function_code


# 7. STS AssumeRole: moto lets anyone assume any role, even one that does not exist ("the role does
#    not need to exist"). AWS answers AccessDenied unless the role exists and its trust policy allows
#    the caller: no Deny matches, and an Allow of sts:AssumeRole names the caller (its role or user
#    ARN, its account, or "*") with every condition met. Conditions understood here: StringEquals on
#    sts:ExternalId and aws:PrincipalOrgID (the caller's organization in the Organizations backend);
#    any other condition is treated as not met (fail closed). The caller's identity policy is not
#    checked (moto evaluates no IAM policies).
import json  # noqa: E402
from urllib.parse import unquote  # noqa: E402

from moto.iam.models import iam_backends  # noqa: E402
from moto.organizations.models import organizations_backends  # noqa: E402
from moto.sts import responses as sts_responses  # noqa: E402
from moto.sts.exceptions import STSClientError  # noqa: E402

_orig_assume_role = sts_responses.TokenResponse.assume_role


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _org_of(account_id):
    for backends in organizations_backends.values():
        for backend in backends.values():
            if backend.org and any(a.id == account_id for a in backend.accounts):
                return backend.org.id
    return None


def _caller_principals(arn, account_id):
    names = {arn, account_id, f"arn:aws:iam::{account_id}:root"}
    m = re.fullmatch(r"arn:aws:sts::(\d{12}):assumed-role/([^/]+)/.+", arn)
    if m:
        names.add(f"arn:aws:iam::{m.group(1)}:role/{m.group(2)}")
    return names


def _statement_matches(statement, caller, account_id, external_id):
    actions = _as_list(statement.get("Action"))
    if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
        return False
    principal = statement.get("Principal")
    aws = _as_list(principal.get("AWS")) if isinstance(principal, dict) else _as_list(principal)
    if "*" not in aws and not (set(aws) & caller):
        return False
    for operator, block in (statement.get("Condition") or {}).items():
        for key, wanted in block.items():
            if operator != "StringEquals":
                return False
            if key.lower() == "sts:externalid":
                actual = external_id
            elif key.lower() == "aws:principalorgid":
                actual = _org_of(account_id)
            else:
                return False
            if actual is None or actual not in _as_list(wanted):
                return False
    return True


def _assume_role(self):
    role_arn = self._get_param("RoleArn") or ""
    external_id = self._get_param("ExternalId")
    _, caller_arn, caller_account = self.backend.get_caller_identity(self.get_access_key(), self.region)
    denied = STSClientError(
        "AccessDenied",
        f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
    )
    m = re.fullmatch(r"arn:aws:iam::(\d{12}):role/(?:.*/)?([^/]+)", role_arn)
    if not m:
        raise denied
    role = next(
        (r for r in iam_backends[m.group(1)]["aws"].roles.values() if r.name == m.group(2)),
        None,
    )
    if role is None:
        raise denied
    doc = role.assume_role_policy_document
    try:
        trust = json.loads(doc if doc.lstrip().startswith("{") else unquote(doc))
    except ValueError:
        raise denied
    caller = _caller_principals(caller_arn, caller_account)
    statements = _as_list(trust.get("Statement"))
    matching = [s for s in statements if _statement_matches(s, caller, caller_account, external_id)]
    if any(s.get("Effect") == "Deny" for s in matching) or not any(s.get("Effect") == "Allow" for s in matching):
        raise denied
    return _orig_assume_role(self)


sts_responses.TokenResponse.assume_role = _assume_role


# 9. UpdateFunctionConfiguration with TracingConfig sets the tracing mode, as on AWS.
_update_configuration_with_revision = _Function.update_configuration


def _update_configuration_with_tracing(self, config_updates):
    tracing = config_updates.get("TracingConfig")
    result = _update_configuration_with_revision(self, config_updates)
    if isinstance(tracing, dict) and tracing.get("Mode") in ("Active", "PassThrough"):
        self.tracing_config = {"Mode": tracing["Mode"]}
        if isinstance(result, dict):
            result["TracingConfig"] = dict(self.tracing_config)
    return result


_Function.update_configuration = _update_configuration_with_tracing


# 10. IAM Access Advisor: AWS-shaped answers with no data (a FAILED job), instead of a 500 HTML page.
from datetime import datetime, timezone

from moto.core.responses import ActionResult
from moto.iam.exceptions import NoSuchEntity
from moto.iam.responses import IamResponse

_LAST_ACCESSED_JOBS = {}


def _generate_service_last_accessed_details(self):
    arn = self._get_param("Arn") or ""
    granularity = self._get_param("Granularity") or "SERVICE_LEVEL"
    m = re.fullmatch(r"arn:aws:iam::(\d{12}):role/(?:.*/)?([^/]+)", arn)
    if m and not any(r.name == m.group(2) for r in self.backend.roles.values()):
        raise NoSuchEntity(f"The role with name {m.group(2)} cannot be found.")
    job_id = str(mock_random.uuid4())
    _LAST_ACCESSED_JOBS[job_id] = (granularity, datetime.now(timezone.utc))
    return ActionResult({"JobId": job_id})


def _get_service_last_accessed_details(self):
    job_id = self._get_param("JobId") or ""
    if job_id not in _LAST_ACCESSED_JOBS:
        raise NoSuchEntity(f"No report job with id {job_id}.")
    granularity, created = _LAST_ACCESSED_JOBS[job_id]
    return ActionResult(
        {
            "JobStatus": "FAILED",
            "JobType": granularity,
            "JobCreationDate": created,
            "JobCompletionDate": created,
            "ServicesLastAccessed": [],
            "IsTruncated": False,
            "Error": {
                "Message": "the local emulator (moto) has no IAM Access Advisor data",
                "Code": "NotSupportedByEmulator",
            },
        }
    )


IamResponse.generate_service_last_accessed_details = _generate_service_last_accessed_details
IamResponse.get_service_last_accessed_details = _get_service_last_accessed_details
