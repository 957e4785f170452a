"""A real Prometheus endpoint for the tests: prometheus_client registries served over HTTP on
127.0.0.1 (its own WSGI app), which a test can swap for a new one (a process restart), and OTLP
JSON lines built with the opentelemetry-proto classes, serialised as the Collector's file
exporter writes them (protobuf JSON mapping, enums as numbers)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIRequestHandler, make_server

from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from prometheus_client import CollectorRegistry, make_wsgi_app

NS = 10**9


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args) -> None:  # no request lines on stderr
        pass


@dataclass
class Endpoint:
    """What the server answers: the registry's exposition, or a forced status / body."""

    registry: CollectorRegistry
    token: str | None = None
    status: str | None = None  # e.g. "500 Internal Server Error"
    body: bytes | None = None  # served as text/plain instead of the registry
    seen_auth: list[str | None] = field(default_factory=list)

    def app(self, environ, start_response):
        auth = environ.get("HTTP_AUTHORIZATION")
        self.seen_auth.append(auth)
        if self.token and auth != f"Bearer {self.token}":
            start_response("401 Unauthorized", [("Content-Type", "text/plain")])
            return [b"no"]
        if self.status:
            start_response(self.status, [("Content-Type", "text/plain")])
            return [b"broken"]
        if self.body is not None:
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [self.body]
        return make_wsgi_app(self.registry)(environ, start_response)


@contextmanager
def serve(endpoint: Endpoint) -> Iterator[str]:
    """The endpoint on a free port of 127.0.0.1; yields its /metrics URL."""
    server = make_server("127.0.0.1", 0, lambda e, s: endpoint.app(e, s),
                         handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/metrics"
    finally:
        server.shutdown()
        server.server_close()


def otlp_line(metrics: list[dict], service: str = "ontrack", instance: str = "web-1") -> str:
    """One ExportMetricsServiceRequest as one JSON line. `metrics` are Metric messages as
    dicts in the proto's own field names (snake_case), turned into the message first: the line
    is what MessageToJson writes, not typed by hand."""
    request = ExportMetricsServiceRequest()
    resource_metrics = request.resource_metrics.add()
    for key, value in (("service.name", service), ("service.instance.id", instance)):
        attribute = resource_metrics.resource.attributes.add()
        attribute.key, attribute.value.string_value = key, value
    scope = resource_metrics.scope_metrics.add()
    scope.scope.name = "yabeda"
    for metric in metrics:
        json_format.ParseDict(metric, scope.metrics.add())
    return json_format.MessageToJson(request, indent=None, use_integers_for_enums=True) + "\n"


def attrs(**labels: str) -> list[dict]:
    return [{"key": k, "value": {"string_value": v}} for k, v in labels.items()]
