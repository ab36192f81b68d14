"""No new module-level mutable state: every `global` statement, module-level mutable
container and cached getter of our packages is on the list below, which only shrinks.

Process-wide state belongs in the one runtime object each process builds at its start
(the receiver's app.state, the worker's context, the CLI's command group) and passes
down; the entries here are what is left of the older style. In the same spirit, only the
runtime builders may make a `Deps` from the environment (`Deps.build()`), and only the
entry points read the settings from it (`get_settings()`); everything else takes its
caller's, and only the settings-set module reads the providers' settings from it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TypeVar, get_type_hints

from pipeline.providers.settings_set import ProviderSettingsSet

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
PACKAGES = (
    "schema",
    "pipeline",
    "adapters",
    "cli",
    "webhooks",
    "workers",
    "bot",
    "api",
    "grpc_api",
)
MUTABLE_CALLS = {"dict", "list", "set", "defaultdict", "OrderedDict", "WeakValueDictionary"}
CACHES = {"cache", "lru_cache"}

# module: names (a `global`, a module-level mutable container, or a cached function).
ALLOWED: dict[str, set[str]] = {
    # Memoized pure results (the same for the whole process; harmless, listed to be seen).
    "pipeline/backups/tools.py": {"_major"},
    "pipeline/providers/networks.py": {"parse_networks"},
    "pipeline/settings.py": {"_split_secret", "get_settings"},
    "adapters/broker/celery_message.py": {"_formatter"},
    "adapters/broker/declarations.py": {"_declaration"},
    "pipeline/i18n/catalogues.py": {"compiled_dir", "translations"},  # keyed by .po content
    "api/console/render.py": {"static_url"},  # a static file's content-hashed URL
}


def _is_mutable(value: ast.expr | None) -> bool:
    if isinstance(value, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        return name in MUTABLE_CALLS
    return False


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    return target.id if isinstance(target, ast.Name) else ""


def singletons(source: str) -> set[str]:
    tree = ast.parse(source)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            found.update(node.names)
    for node in tree.body:
        if isinstance(node, ast.Assign) and _is_mutable(node.value):
            found.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if _is_mutable(node.value):
                found.add(node.target.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
            _decorator_name(d) in CACHES for d in node.decorator_list
        ):
            found.add(node.name)
    # Upper-case names are constants by convention (tables, registries filled at import).
    return {name for name in found if not name.isupper() and not name.startswith("__")}


def scan(find: Callable[[str], Collection[T]]) -> dict[str, Collection[T]]:
    """What `find` sees in each module of our packages that has any, by path."""
    found: dict[str, Collection[T]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            seen = find(path.read_text())
            if seen:
                found[str(path.relative_to(ROOT))] = seen
    return found


def outside(find: Callable[[str], Collection[T]], allowed: Collection[str]) -> dict[str, list[T]]:
    """What `find` sees in the modules not `allowed` to have it, by path (each allowed
    module must still exist, or the list is stale)."""
    gone = [m for m in allowed if not (ROOT / m).is_file()]
    assert not gone, f"moved or gone: take them off the list: {gone}"
    return {m: list(seen) for m, seen in scan(find).items() if m not in allowed}


def test_no_new_module_level_singletons() -> None:
    found = {module: set(names) for module, names in scan(singletons).items()}
    new = {
        module: sorted(names - ALLOWED.get(module, set()))
        for module, names in found.items()
        if names - ALLOWED.get(module, set())
    }
    assert not new, f"new module-level state (pass it down from the process's runtime): {new}"
    gone = {
        m: sorted(n - found.get(m, set())) for m, n in ALLOWED.items() if n - found.get(m, set())
    }
    assert not gone, f"no longer there: take them off ALLOWED: {gone}"


def test_the_scan_sees_each_kind() -> None:
    source = (
        "import functools\n_a = {}\n_b: list[int] = []\n_c = None\nTABLE = {}\n"
        "def f():\n    global _c\n    _c = 1\n"
        "@functools.lru_cache(maxsize=1)\ndef g(): ...\n"
    )
    assert singletons(source) == {"_a", "_b", "_c", "g"}


# `Deps.build()` reads the environment: only a runtime builder may make the process's Deps
# (they call `Deps(settings, ...)` today; these modules stay allowed to). A plugin the
# runtime serves (the bot's update processor) takes the runtime's.
RUNTIME_BUILDERS = {
    "workers/runtime.py",
    "webhooks/main.py",
    "api/app.py",
    "grpc_api/runtime.py",
    "cli/runtime.py",
}


def deps_builds(source: str) -> list[int]:
    """Lines that call `Deps.build(` (or `pipeline.deps.Deps.build(`)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner = node.func.value
        name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
        if node.func.attr == "build" and name == "Deps":
            lines.append(node.lineno)
    return sorted(lines)


def test_only_runtime_builders_build_deps_from_the_environment() -> None:
    stray = outside(deps_builds, RUNTIME_BUILDERS)
    assert not stray, f"Deps.build() outside a runtime builder (take the caller's Deps): {stray}"


def test_the_deps_scan_sees_each_spelling() -> None:
    source = (
        "from pipeline import deps\nfrom pipeline.deps import Deps\n"
        "def f(given=None):\n    return given or Deps.build()\n"
        "x = deps.Deps.build(redis=None)\n"
        "y = Deps(settings)\nz = registry.build()\n"
    )
    assert deps_builds(source) == [4, 5]


def deps_made(source: str) -> list[int]:
    """Lines that make a `Deps(...)` (or `pipeline.deps.Deps(...)`)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name == "Deps":
                lines.append(node.lineno)
    return sorted(lines)


def test_only_runtime_builders_make_a_deps() -> None:
    # pipeline/deps.py: `redactor_of`, for a context made by hand.
    stray = outside(deps_made, RUNTIME_BUILDERS | {"pipeline/deps.py"})
    assert not stray, f"a second Deps in the process (take the runtime's): {stray}"
    assert deps_made("x = Deps(s)\ny = deps.Deps(s, redis=r)\nz = Deps.build()\n") == [1, 2]


# `get_settings()` reads the environment (once, cached): only where a process starts and
# builds its one runtime may it be read; everything else takes the settings its caller
# passes down (the runtime's, `ctx.deps.settings`, the request's, the handler's data).
SETTINGS_READERS = {
    "pipeline/settings.py": "defines it",
    "pipeline/deps.py": "Deps.build(): tests and one-off scripts",
    "webhooks/main.py": "the receiver's app factory",
    "api/app.py": "the API's app factory",
    "workers/celery_app.py": "the worker's and beat's app (worker init, beat init)",
    "cli/runtime.py": "cli_runtime",
    "cli/common.py": "the CLI's settings, read again with the resolved services",
    # CLI commands that start without a cli_runtime: each is its process's entry point.
    "cli/__init__.py": "pipeline health",
    "cli/api.py": "pipeline api token",
    "cli/backup.py": "pipeline backup",
    "cli/grpc.py": "pipeline grpc (builds the gRPC runtime)",
    "cli/miniapp.py": "pipeline miniapp",
    "cli/serve.py": "pipeline serve",
    "cli/telegram.py": "pipeline telegram",
}


def environment_builds(tree: ast.AST, classes: Collection[str]) -> set[int]:
    """Lines that build one of `classes` with no arguments (pydantic-settings then reads
    the environment): `X()`, `module.X()`, or `default_factory=X`."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and not node.args and not node.keywords:
            target = node.func
        elif isinstance(node, ast.keyword) and node.arg == "default_factory":
            target = node.value
        else:
            continue
        name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
        if name in classes:
            lines.add(target.lineno)
    return lines


def settings_reads(source: str) -> list[int]:
    """Lines that name `get_settings` (a call, `module.get_settings`, an import, an alias)
    or build `Settings()` from the environment themselves."""
    tree = ast.parse(source)
    lines = environment_builds(tree, {"Settings"})
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.Name | ast.Attribute):
            names = [node.id if isinstance(node, ast.Name) else node.attr]
        else:
            continue
        if "get_settings" in names:
            lines.add(node.lineno)
    return sorted(lines)


def test_only_entry_points_read_the_settings_from_the_environment() -> None:
    stray = outside(settings_reads, SETTINGS_READERS)
    assert not stray, (
        f"get_settings() outside an entry point (take the settings from the caller: the "
        f"runtime's, ctx.deps.settings, the request's or the handler's): {stray}"
    )


def test_the_settings_scan_sees_each_spelling() -> None:
    source = (
        "from pipeline.settings import Settings, get_settings\n"
        "from pipeline import settings\n"
        "def f(given=None):\n    return given or get_settings()\n"
        "x = settings.get_settings().shop_name\n"
        "from pipeline.settings import get_settings as read\n"
        "y = Settings()\nz = runtime.settings\nw = settings.Settings()\n"
        "copy = Settings(**given)\n"
    )
    assert settings_reads(source) == [1, 4, 5, 6, 7, 9]


# A provider's settings class built with no arguments reads the environment: the process
# reads every provider's once, into the `ProviderSettingsSet` its runtime holds
# (`Deps.providers`, the registry's), and everything else takes them from there.
PROVIDER_SETTINGS_READERS = {
    "pipeline/providers/settings_set.py": "ProviderSettingsSet.from_env() and .readable()",
}
PROVIDER_SETTINGS = frozenset(k.__name__ for k in get_type_hints(ProviderSettingsSet).values())


def provider_settings_reads(source: str) -> list[int]:
    """Lines that build a provider's settings from the environment: `XSettings()` (also
    as `module.XSettings()` or under an alias) or `default_factory=XSettings`."""
    tree = ast.parse(source)
    names = set(PROVIDER_SETTINGS)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names.update(a.asname for a in node.names if a.asname and a.name in PROVIDER_SETTINGS)
    return sorted(environment_builds(tree, names))


def test_only_the_settings_set_reads_provider_settings_from_the_environment() -> None:
    assert {"YooKassaSettings", "AtolSettings", "ReceiptSettings"} <= PROVIDER_SETTINGS
    stray = outside(provider_settings_reads, PROVIDER_SETTINGS_READERS)
    assert not stray, (
        f"a provider's settings read from the environment (take the process's: "
        f"deps.providers, deps.apis, the registry's provider): {stray}"
    )


def test_the_provider_settings_scan_sees_each_spelling() -> None:
    source = (
        "from pipeline.providers import stripe\n"
        "from pipeline.providers.yookassa import YooKassaSettings as Yk\n"
        "def f(given=None):\n    return given or YooKassaSettings()\n"
        "x = stripe.StripeSettings()\ny = Yk()\n"
        "z = field(default_factory=AtolSettings)\n"
        "ok = YooKassaSettings(shop_id='1')\nfine = Settings()\nnot_ours = FooSettings()\n"
    )
    assert provider_settings_reads(source) == [4, 5, 6, 7]
