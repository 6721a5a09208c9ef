"""Sessions and accounts hardening (issue 12): sign-in throttle per name and address,
forwarding headers from named proxies only, CSRF bound to the session, weak passwords
refused, the kiosk token out of the access log, revocation at the next request.
Through the real app in-process (real SQLite and Redis)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cli import main
from datasources.sql.accounts import AccountError


def env(settings) -> dict[str, str]:
    return {"ZN_DATA_DIR": settings.data_dir, "DATABASE_URL": settings.database_url,
            "ZN_LOG_LEVEL": "WARNING"}


# ------------------------------------------------------------------ passwords
@pytest.mark.parametrize("password", ["        ", "password", "12345678", "qwertyuiop",
                                      "王芳王芳王芳王芳", "wangfang", "wangfang1"])
def test_common_and_trivial_passwords_are_refused(services, password):
    with pytest.raises(AccountError) as refused:
        services.accounts.add_user("wangfang", "officer", password)
    assert refused.value.code in ("password_short", "password_name", "password_weak")
    assert services.accounts.user("wangfang") is None


def test_a_good_password_and_the_demo_password_are_accepted(services):
    services.accounts.add_user("值班员", "officer", "zhongnao-demo")
    services.accounts.add_user("wangfang", "officer", "Tea at the 3rd bridge")
    with pytest.raises(AccountError) as refused:
        services.accounts.set_password("wangfang", "password1")
    assert refused.value.code == "password_weak"
    assert services.accounts.authenticate("wangfang", "Tea at the 3rd bridge") is not None


def test_the_cli_refuses_a_weak_password_in_both_languages(settings):
    out = CliRunner().invoke(main, ["user", "add", "孙丽", "--role", "officer",
                                    "--password", "12345678"], env=env(settings))
    assert out.exit_code != 0
    assert "太容易被猜到" in out.output and "too easy to guess" in out.output
