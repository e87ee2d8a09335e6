import jsonschema
import pytest
from django.urls import reverse

from tracking.tools.registry import TOOLS


@pytest.fixture
def document(client):
    response = client.get(reverse("api:openapi"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


def test_it_is_public_and_describes_every_tool(document):
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"]
    paths = {f"/api/v1/tools/{name}" for name in TOOLS}
    assert set(document["paths"]) == paths


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_it_gives_each_tool_its_registry_schema_and_statuses(document, name):
    operation = document["paths"][f"/api/v1/tools/{name}"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema == TOOLS[name].input_schema
    jsonschema.Draft202012Validator.check_schema(schema)
    expected = {
        str(TOOLS[name].success_status),
        "400",
        "401",
        "403",
        "404",
        "409",
        "411",
        "413",
        "502",
        "503",
    }
    assert set(operation["responses"]) == expected
    assert operation["operationId"] == name
    ref = operation["responses"]["409"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/Error"


def test_it_declares_bearer_auth_and_the_error_shape(document):
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    assert document["security"] == [{"bearerAuth": []}]
    error = document["components"]["schemas"]["Error"]
    jsonschema.Draft202012Validator.check_schema(error)
    jsonschema.validate({"error": {"code": "duplicate", "message": "m"}}, error)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"detail": "x"}, error)


def test_it_refuses_a_post(client):
    assert client.post(reverse("api:openapi")).status_code == 405
