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
