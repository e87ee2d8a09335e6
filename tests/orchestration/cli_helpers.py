"""Run ``manage.py orchestration`` in-process and capture exit status and output."""

from dataclasses import dataclass
from io import StringIO

from django.core.management import CommandError, call_command


@dataclass
class Run:
    code: int
    out: str
    err: str
    error: str

    @property
    def text(self) -> str:
        return "\n".join([self.out, self.err, self.error])


def run(*args: str) -> Run:
    out, err = StringIO(), StringIO()
    try:
        call_command("orchestration", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return Run(exc.returncode, out.getvalue(), err.getvalue(), str(exc))
    return Run(0, out.getvalue(), err.getvalue(), "")
