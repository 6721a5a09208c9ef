"""The deployment files a county's admin copies (deploy/, docs/operations.md) stay true to
the code: every setting is in the environment template with its default, nginx accepts the
shipped configuration, and the units start commands the CLI has."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from dashboard.settings import SETTINGS
from tests.cluster import nginx_binary, render_nginx

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def test_the_environment_template_names_every_setting_once() -> None:
    text = (DEPLOY / "zhongnao.env.example").read_text(encoding="utf-8")
    names = re.findall(r"(?m)^([A-Z][A-Z0-9_]*)=", text)
    assert sorted(names) == sorted(s.env for s in SETTINGS)
    values = dict(re.findall(r"(?m)^([A-Z][A-Z0-9_]*)=(.*)$", text))
    # Defaults as the code has them, where the template does not set a deployment's value.
    assert values["ZN_SWEEP_S"] == "30.0" and values["ZN_LEADER_TTL_S"] == "5.0"
    assert values["ZN_TRUSTED_PROXIES"] == "127.0.0.1"  # nginx on the same host


def test_the_units_run_commands_the_cli_has() -> None:
    commands = set()
    for unit in (DEPLOY / "systemd").glob("*.service"):
        for line in re.findall(r"(?m)^ExecStart=/opt/zhongnao/\.venv/bin/zhongnao (.+)$",
                               unit.read_text(encoding="utf-8")):
            commands.add(line.replace("%i", "8050"))
    assert {c.split()[0] for c in commands} >= {"serve", "init-db", "backup", "gateway"}
    for command in commands:
        done = CliRunner().invoke(main, [*command.split(), "--help"])
        assert done.exit_code == 0, (command, done.output)


@pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed "
                    "(tools/ensure_nginx.sh)")
def test_nginx_accepts_the_shipped_configuration(tmp_path: Path) -> None:
    conf = render_nginx(tmp_path, 18080, [18050, 18051])
    done = subprocess.run([str(nginx_binary()), "-t", "-p", str(tmp_path), "-c", str(conf)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    site = (tmp_path / "zhongnao.conf").read_text(encoding="utf-8")
    assert "proxy_set_header Upgrade $http_upgrade;" in site  # the walls' websockets
    assert re.search(r"proxy_read_timeout (\d+)s;", site)[1] == "3600"
