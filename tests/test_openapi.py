"""The machine-readable contract: the declarations (shared/api_params.py) agree with the route
catalogue and with what the code reads, and GET /api/openapi.json serves a valid OpenAPI 3.1
document made from them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from shared import params as params_module
from shared.api_params import DECLARED, ENDPOINTS, GATEWAY_ROUTES
from shared.errors import ERROR_CODES
from shared.params import Params, UndeclaredParameter
from shared.routes import CATALOGUE

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def served(api):
    answer = api.get("/api/openapi.json")  # no login
    assert answer.content_type == "application/json"
    return answer.json


def test_the_document_is_valid_openapi_31(served):
    assert served["openapi"] == "3.1.0"
    validate(served)
    assert set(served["components"]["securitySchemes"]) == {"session", "bearer", "apiKey"}
    assert {"Envelope", "Success", "Failure"} <= set(served["components"]["schemas"])


def test_the_document_and_the_catalogue_agree(served):
    """Every route and method of the catalogue (and the gateway's own) is in the document with
    its declared parameters, and the document holds nothing else."""
    expected = {}
    routes = [(r.template, r.resource, r.methods) for rs in CATALOGUE.values() for r in rs]
    routes += [(t, name, frozenset(ENDPOINTS[name])) for t, name in GATEWAY_ROUTES]
    for template, resource, methods in routes:
        path = "/api" + re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", template)
        for method in methods:
            declared = {p.name for p in ENDPOINTS[resource][method].params}
            expected[(path, method.lower())] = declared
    found = {}
    for path, item in served["paths"].items():
        for method, operation in item.items():
            names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
            for media in operation.get("requestBody", {}).get("content", {}).values():
                names |= set(media["schema"]["properties"])
            found[(path, method)] = names
    assert found == expected
    # and every declared endpoint is routed
    assert {name for name in ENDPOINTS} == {r.resource for rs in CATALOGUE.values() for r in rs} | {
        n for _, n in GATEWAY_ROUTES
    }


def test_every_error_code_the_code_raises_is_documented(served):
    raised = set()
    for source in [*ROOT.glob("shared/**/*.py"), *ROOT.glob("services/**/*.py"),
                   *ROOT.glob("gateway/*.py")]:  # fmt: skip
        raised |= set(re.findall(r'ApiError\(\s*"([A-Z_]+)"', source.read_text()))
    assert raised <= ERROR_CODES, raised - ERROR_CODES
    described = served["components"]["schemas"]["Failure"]["properties"]["_msg"]["description"]
    assert all(code in described for code in ERROR_CODES)
    for item in served["paths"].values():
        for operation in item.values():
            assert set(operation["x-error-codes"]) <= ERROR_CODES


def test_reading_an_undeclared_parameter_is_a_fault():
    assert params_module.STRICT  # the tests run strict (conftest)
    declared = DECLARED[("/ml/{mail}", "PUT")]
    params = Params([("tocc", "yes"), ("bogus", "1")], [], declared)
    assert params.get_bool("tocc") is True
    with pytest.raises(UndeclaredParameter):
        params.get_str("bogus")
    with pytest.raises(UndeclaredParameter):
        params.get_int("tocc")  # declared a boolean
    with pytest.raises(UndeclaredParameter):
        assert "bogus" in params


def test_legacy_names_come_from_the_declarations():
    declared = DECLARED[("/user/{mail}", "PUT")]
    params = Params([("cn", "Jane"), ("mailQuota", "5")], [], declared)
    assert params.get_str("name") == "Jane" and params.get_int("quota") == 5
    assert params.label("name") == "cn"


def test_the_document_needs_no_login_but_the_api_switch_and_allow_list(make_api):
    assert make_api(enable_restful_api=False).get("/api/openapi.json").json["_msg"] == (
        "API_DISABLED")  # fmt: skip
    outside = make_api(restrict_api_access=True, restful_api_clients=("10.0.0.0/8",),
                       remote_addr="192.0.2.1")  # fmt: skip
    assert outside.get("/api/openapi.json").json["_msg"] == "NOT_AUTHORIZED"
    assert outside.get("/api/docs").json["_msg"] == "NOT_AUTHORIZED"


def test_the_docs_page_and_its_files_are_served_from_the_package(api):
    page = api.get("/api/docs")
    assert page.content_type == "text/html"
    assert 'src="/api/docs/swagger-ui-bundle.js"' in page.text
    assert "http" not in page.text  # nothing fetched from elsewhere
    assert api.get("/api/docs/swagger-ui-bundle.js").content_type == "text/javascript"
    assert api.get("/api/docs/swagger-ui.css").content_type == "text/css"
    assert api.get("/api/docs/../../etc/passwd", expect_errors=True).json["_success"] is False
    assert api.get("/api/docs/index.html").json["_msg"] == "NOT_FOUND"


def test_every_readme_curl_line_is_a_documented_call_and_an_example(served):
    from shared.api_params import LEGACY_NAMES
    from shared.openapi import README, curl_lines, match_path, parse_curl

    lines = curl_lines(README.read_text())
    assert len(lines) > 50
    for line in lines:
        method, path, params = parse_curl(line)
        template = match_path(served["paths"], path)
        assert template and method.lower() in served["paths"][template], line
        operation = served["paths"][template][method.lower()]
        names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        for media in operation.get("requestBody", {}).get("content", {}).values():
            names |= set(media["schema"]["properties"])
        used = {LEGACY_NAMES.get(name, name) for name in params}
        assert used <= names, (line, used - names)
        assert line in [s["source"] for s in operation["x-codeSamples"]]
