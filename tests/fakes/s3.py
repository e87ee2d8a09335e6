"""A real S3-compatible server on loopback: moto's server (``moto_server``) as a process.

Moto implements S3's published REST API (path-style buckets, multipart, ETags) over
real HTTP, so django-storages' S3 backend and boto3 talk to it as they would to AWS,
MinIO or any other S3-compatible store. The process listens on 127.0.0.1 only and
resolves no names; it is stopped (by its pid) when the fixture ends.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ACCESS_KEY = "civitrack-test-key"
SECRET_KEY = "civitrack-test-secret-0123456789"
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class S3Server:
    endpoint_url: str
    process: subprocess.Popen

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def storage_options(self, bucket: str) -> dict:
        """``STORAGES["default"]["OPTIONS"]`` as civitrack/settings.py builds them."""
        return {
            "bucket_name": bucket,
            "endpoint_url": self.endpoint_url,
            "region_name": REGION,
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "querystring_auth": False,
            "file_overwrite": False,
            "addressing_style": "path",
        }

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start() -> S3Server:
    port = _free_port()
    binary = Path(sys.executable).with_name("moto_server")
    env = os.environ | {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    process = subprocess.Popen(
        [str(binary), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}")
        try:
            requests.get(url + "/moto-api/", timeout=1)
            return S3Server(url, process)
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("moto_server did not start within 30 s")
