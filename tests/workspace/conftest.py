"""The reviewer personas of the orchestration tests, for the workspace tests too."""

from tests.orchestration.conftest import reviewer, reviewer2  # noqa: F401  (fixtures)
