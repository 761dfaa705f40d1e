"""Run one of the project's CumulusCI tasks the way `cci task run` does (keychain from the environment,
the `local` org, the project's cumulusci.yml), without the CLI's start-up: the crash tests start it as a
subprocess and SIGKILL it.

    python -m tests.resilience.task_entry push_marketo state_dir=/tmp/s chunk_size=8
"""
from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from cumulusci.cli.runtime import CliRuntime
    from cumulusci.core.config import TaskConfig
    from cumulusci.core.utils import import_global

    task_name, *pairs = argv
    options = dict(pair.split("=", 1) for pair in pairs)
    runtime = CliRuntime(load_keychain=True)
    task_config = runtime.project_config.get_task(task_name)
    task_class = import_global(task_config.class_path)
    org_config = runtime.keychain.get_org("local")
    config = TaskConfig({**task_config.config, "options": {**(task_config.options or {}), **options}})
    task = task_class(runtime.project_config, config, org_config=org_config)
    task()
    print(f"RETURN_VALUES {task.return_values}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
