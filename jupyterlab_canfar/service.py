"""The state shared by the handlers: configuration, the local server, the HTTP client to Skaha."""

import getpass
import logging
import os
from dataclasses import dataclass
from typing import Mapping, Optional

from tornado.simple_httpclient import SimpleAsyncHTTPClient

from .config import CanfarConfig, Endpoint, resolve_endpoint
from .credentials import Credential, config_active_server_url, discover, read_canfar_config, token_credential
from .local import LocalServerError, LocalServerManager, default_state_dir, find_cli


@dataclass
class Target:
    """Where a Skaha call goes now, with which credential; or, when ``error`` is set, why it cannot go.

    ``status`` is the HTTP status the proxy answers with when ``error`` is set.
    """

    endpoint: Endpoint
    url: Optional[str]
    api_url: Optional[str]
    credential: Credential
    user: Optional[str] = None
    error: Optional[str] = None
    status: int = 200


class CanfarService:
    def __init__(
        self,
        config: CanfarConfig,
        *,
        log: logging.Logger,
        package_dir: str,
        root_dir: str = "",
        env: Optional[Mapping[str, str]] = None,
        home: Optional[str] = None,
    ):
        self.config = config
        self.log = log
        self.env = os.environ if env is None else env
        self.home = home
        search_dirs = [d for d in (root_dir, os.getcwd(), os.path.expanduser("~")) if d]
        self.local = LocalServerManager(
            state_dir=os.path.expanduser(config.local_state_dir) or default_state_dir(self.env),
            command=lambda: list(config.local_command) or find_cli(package_dir, search_dirs),
            start_timeout=config.local_start_timeout,
            log=log,
        )
        # Our own client: a large body limit (logs can be big; bodies are streamed, never buffered)
        # and enough connections for a batch of concurrent submissions.
        self.http = SimpleAsyncHTTPClient(force_instance=True, max_clients=64, max_body_size=1 << 40)

    async def resolve(self) -> Target:
        config_data = None
        if not self.config.endpoint and not self.env.get("CANFAR_URL"):
            config_data, _ = read_canfar_config(self.home)
        endpoint = resolve_endpoint(self.config.endpoint, self.env, config_active_server_url(config_data))
        none = Credential(kind="none", source="")
        if endpoint.problem:
            return Target(endpoint, None, None, none, error=endpoint.problem, status=500)
        if endpoint.kind == "local":
            try:
                server = await self.local.ensure()
            except LocalServerError as error:
                return Target(
                    endpoint,
                    None,
                    None,
                    none,
                    error=f"the local Skaha server is not available: {error}",
                    status=502,
                )
            credential = token_credential(server.token, "local server token file")
            return Target(endpoint, server.url, server.api_url, credential, user=getpass.getuser())
        credential = discover(
            token=self.config.token,
            token_file=self.config.token_file,
            certificate=self.config.certificate,
            env=self.env,
            home=self.home,
        )
        target = Target(endpoint, endpoint.url, endpoint.api_url, credential, user=credential.user)
        if credential.problem:
            target.error, target.status = credential.problem, 401
        return target

    def close(self) -> None:
        self.local.stop()
        self.http.close()
