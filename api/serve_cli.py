"""``ivus-coder serve``: run the HTTP service under uvicorn.

Each worker process builds its own coding pipeline at start-up, for the default linker
(``--linker``; ``/readyz`` turns ready when it is built), and the pipeline of another linker when
a request first names it. Authentication is on: without API keys (``IVUS_CODER_API_KEYS`` or
``--api-keys-file``) the server refuses to start, unless ``--insecure-no-auth`` is given.
"""

from __future__ import annotations

import argparse
import atexit
import copy
import ipaddress
import logging.config
import os
import shutil
import sys
import tempfile

from rules_core.errors import IvusCoderError

from .cli import EXIT_USAGE, _add_linker_option, register_command
from .config import CONFIG_ENV, MIB, ServiceSettings
from .workers import reuse_port_supported, run_workers

APP = "api.service:app_from_env"
DEFAULTS = ServiceSettings()


@register_command("serve", "run the HTTP service (JSON, FHIR, HL7 v2 and the review page)")
def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run the HTTP service: POST /v1/code, /v1/code/batch, /fhir/DocumentReference/$ivus-code, "
        "/hl7v2/mdm; GET /v1/rules, /healthz, /readyz, /metrics, /openapi.json and the review "
        "page at /. API keys come from IVUS_CODER_API_KEYS (comma-separated) and/or "
        "--api-keys-file (one per line); clients send 'Authorization: Bearer KEY'. A request "
        "may name its vessel linker ('linker'); --linker is the one it gets when it names none. "
        "Each worker builds the default linker's pipeline at start-up (/readyz is ready then) "
        "and another linker's pipeline on the first request that names it."
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes, each with its own coding pipelines (one per linker used); each "
        "has its own socket on the port (SO_REUSEPORT) so connections spread evenly "
        "(default: %(default)s)",
    )
    _add_linker_option(
        parser,
        lead="the vessel linker of requests that name none (a request "
        "may name another: its pipeline is built on first use); ",
    )
    parser.add_argument("--api-keys-file", metavar="FILE", help="file of API keys, one per line")
    parser.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="turn authentication off (local use only: anyone who can reach the port can "
        "code notes)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=MIB,
        metavar="N",
        help="largest request body; larger ones get 413 (default: %(default)s = 1 MiB)",
    )
    parser.add_argument(
        "--batch-limit",
        type=int,
        default=DEFAULTS.batch_limit,
        metavar="N",
        help="most documents per batch or FHIR Bundle (default: %(default)s)",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=DEFAULTS.rate_limit,
        metavar="R",
        help="requests per second per API key and worker, 0 for none (default: %(default)s)",
    )
    parser.add_argument(
        "--rate-burst",
        type=int,
        default=DEFAULTS.rate_burst,
        metavar="N",
        help="token-bucket size per API key and worker (default: %(default)s)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="log level (default: %(default)s)",
    )
    parser.add_argument(
        "--no-access-log", action="store_true", help="do not log one line per request"
    )
    parser.set_defaults(handler=run_serve)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _log_config(level: str) -> dict:
    """uvicorn's logging, plus the service's own loggers (``ivus_coder.*``) with timestamps."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["ivus_coder"] = {
        "format": "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s",
    }
    config["handlers"]["ivus_coder"] = {
        "class": "logging.StreamHandler",
        "formatter": "ivus_coder",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["ivus_coder"] = {
        "handlers": ["ivus_coder"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .auth import read_keys

    try:
        settings = ServiceSettings(
            insecure_no_auth=args.insecure_no_auth,
            api_keys_file=os.path.abspath(args.api_keys_file) if args.api_keys_file else None,
            max_body_bytes=args.max_body_bytes,
            batch_limit=args.batch_limit,
            rate_limit=args.rate_limit,
            rate_burst=args.rate_burst,
            access_log=not args.no_access_log,
            linker=args.linker,
        )
    except ValueError as exc:
        print(f"ivus-coder serve: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.workers < 1:
        print("ivus-coder serve: error: --workers must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if args.insecure_no_auth:
        where = (
            "" if _is_loopback(args.host) else f" on {args.host}, which is not a loopback address"
        )
        print(
            f"ivus-coder serve: WARNING: authentication is OFF (--insecure-no-auth){where}: "
            "anyone who can reach the port can send notes. Use only for local work.",
            file=sys.stderr,
        )
    else:
        keys = read_keys(settings.api_keys_file)
        if not keys:
            raise IvusCoderError("E101")
        print(
            f"ivus-coder serve: authentication on, {len(keys)} API key(s) configured.",
            file=sys.stderr,
        )
    _check_rule_files(args.linker)
    os.environ[CONFIG_ENV] = settings.to_env()
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        folder = tempfile.mkdtemp(prefix="ivus-coder-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    config = {
        "app": APP,
        "factory": True,
        "host": args.host,
        "port": args.port,
        "log_level": args.log_level,
        "log_config": _log_config(args.log_level),
        "access_log": False,  # the service logs its own access lines, without query strings
        "http": "api.server_protocol:NoDelayProtocol",  # TCP_NODELAY (see that module)
        "proxy_headers": False,
        "server_header": False,
    }
    if args.workers > 1 and reuse_port_supported():
        logging.config.dictConfig(config["log_config"])  # the supervisor's own messages
        print(
            f"ivus-coder serve: listening on http://{args.host}:{args.port} with {args.workers} "
            "workers (one socket each).",
            file=sys.stderr,
        )
        try:
            return run_workers(args.workers, config, args.host, args.port)
        except OSError as exc:
            print(
                f"ivus-coder serve: error: cannot listen on {args.host}:{args.port}: {exc}",
                file=sys.stderr,
            )
            return EXIT_USAGE
    uvicorn.run(workers=args.workers, **config)
    return 0


def _check_rule_files(linker: str) -> None:
    """Fail before starting workers when a rule or data file, or the weights the default
    ``linker`` needs, are invalid (numbered error)."""
    from nlp.rules_io import context_rules, cues, ivus_gate, target_rules
    from rules_core import load_ontology, load_policies

    load_ontology()
    load_policies()
    target_rules()
    context_rules()
    cues()
    ivus_gate()
    if linker != "rules":
        from models.linker_model import load_linker_model

        load_linker_model()
