"""The AgentRun of a task Agent as a one-shot local runtime process: what the operator's Job
is in a cluster.

The process is the Job's pod: the same config.json (runtime_config.py), the same environment
(runtime_env.py, with the run's prompt, name and trace context from job.py's run_env), its own
directory `runs/<run>/` (config, workspace, log), and the runtime's result JSON written to
`result.json` instead of the termination log. Its end becomes the status the operator writes
for a finished Job (builders/run_result.py): output, toolCalls, tokensUsed, model, traceID.
When the result cannot say why it failed, the exit and the last line of output do.
"""

from __future__ import annotations

import os

from pydantic import ValidationError

from agentops_services.api.runtime_api import TaskResult
from agentops_services.local.agent_runs import RunContext, RunReport
from agentops_services.local.processes import (
    ProcessEvent,
    ProcessSpec,
    describe_exit,
)
from agentops_services.local.runtime_setup import RuntimeHost
from agentops_services.operator.builders.conditions import ACCEPTED, condition
from agentops_services.operator.builders.job import run_env
from agentops_services.operator.builders.run_result import COMPLETE, RunEnd, task_run_end

RESULT_LIMIT = 1024 * 1024
"""A result file larger than this is not read whole (the output is cut at 32 KiB anyway)."""


def process_name(run: str) -> str:
    """The supervisor's name of a task run's runtime."""
    return f"run/{run}"


def read_result(text: str | None) -> tuple[TaskResult | None, str | None]:
    """The runtime's result JSON, else (None, the text as it is)."""
    if not text:
        return None, None
    try:
        return TaskResult.model_validate_json(text), None
    except ValidationError:
        return None, text


async def _ignore(_: ProcessEvent) -> None:
    """A one-shot process's end is awaited, not listened to."""


class TaskRuns:
    """The executor of task runs (see agent_runs.RunExecutor)."""

    def __init__(self, host: RuntimeHost) -> None:
        self.host = host

    async def execute(self, context: RunContext, report: RunReport) -> RunEnd:
        run, agent = context.run, context.agent
        references = context.catalog.references(agent)  # what is missing is left out, as in a Job
        directory = self.host.data.run(run.name).create()
        prepared = self.host.setup.prepare(
            agent, references, directory, context.secrets, run_env(run)
        )
        prepared.local.write(directory.root, directory.config)
        directory.result.unlink(missing_ok=True)
        name = process_name(run.name)
        argv = (
            *self.host.setup.command,
            "--config", str(directory.config),
            "--state-dir", str(directory.state),
            "--termination-log", str(directory.result),
        )  # fmt: skip
        spec = ProcessSpec(
            name=name,
            argv=argv,
            env=prepared.environment.env,
            cwd=directory.workspace,
            log_file=directory.log,
            restart=False,
        )
        process = self.host.supervisor.start(spec, _ignore)
        try:
            await report.running(
                [
                    condition(ACCEPTED, "True", "Admitted", "Started as a local process"),
                    condition(COMPLETE, "False", "Running", f'Process "{name}" started'),
                ],
                mode="task",
                model=agent.spec.model,
            )
            code = await process.wait()
            tail = process.log_tail()
        finally:
            await self.host.supervisor.stop(name)
        result, raw = read_result(self._result_text(directory.result))
        failure = f"The runtime {describe_exit(code)}"
        if tail:
            failure += f": {tail[-1]}"
        return task_run_end(
            result, raw, succeeded=code == 0, failure=failure, now=self.host.clock()
        )

    @staticmethod
    def _result_text(path: os.PathLike[str]) -> str | None:
        try:
            with open(path, encoding="utf-8", errors="replace") as result:
                return result.read(RESULT_LIMIT)
        except OSError:
            return None
