"""Leader election on a coordination.k8s.io Lease, as client-go's leaderelection does it.

The holder renews the lease every `retry` seconds; a candidate takes it over when it has not been
renewed for `lease_duration`. Optimistic concurrency (the Lease's resourceVersion on every
update) makes the takeover race-free. A leader that cannot renew within `renew_deadline` stops
leading: the caller exits, so two operators never act at once for long.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from agentops_services.kube.resources import LEASE
from agentops_services.kube.rest import Kube, KubeError, Object
from agentops_services.operator import metrics

LOG = logging.getLogger("agentops.operator.leader")
LEASE_NAME = "agentops-operator"
LEASE_DURATION = 15.0
RENEW_DEADLINE = 10.0
RETRY_PERIOD = 2.0


def _now() -> datetime:
    return datetime.now(UTC)


def _micro(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class LeaderElector:
    def __init__(
        self,
        kube: Kube,
        namespace: str,
        identity: str,
        *,
        name: str = LEASE_NAME,
        lease_duration: float = LEASE_DURATION,
        renew_deadline: float = RENEW_DEADLINE,
        retry_period: float = RETRY_PERIOD,
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.identity = identity
        self.name = name
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.leading = asyncio.Event()
        self.lost = asyncio.Event()
        """Set when a leader could not renew in time: the process must stop acting."""

    def _spec(self, acquired: datetime, transitions: int) -> Object:
        now = _micro(_now())
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": int(self.lease_duration),
            "acquireTime": _micro(acquired),
            "renewTime": now,
            "leaseTransitions": transitions,
        }

    async def _try(self) -> bool:
        """One attempt to take or renew the lease; whether we hold it now."""
        lease = await self.kube.get(LEASE, self.namespace, self.name)
        if lease is None:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": self._spec(_now(), 0),
            }
            try:
                await self.kube.create(LEASE, self.namespace, body)
            except KubeError as exc:
                if exc.conflict:
                    return False
                raise
            return True
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity")
        renewed = _parse(spec.get("renewTime")) or _parse(spec.get("acquireTime"))
        duration = float(spec.get("leaseDurationSeconds") or self.lease_duration)
        expired = renewed is None or _now() > renewed + timedelta(seconds=duration)
        if holder not in (self.identity, None, "") and not expired:
            return False
        transitions = int(spec.get("leaseTransitions") or 0)
        if holder == self.identity:
            acquired = _parse(spec.get("acquireTime")) or _now()
        else:
            acquired, transitions = _now(), transitions + 1
        lease["spec"] = self._spec(acquired, transitions)
        try:
            await self.kube.replace(LEASE, lease)
        except KubeError as exc:
            if exc.conflict:  # someone else renewed or took it first
                return False
            raise
        return True

    async def run(self) -> None:
        """Acquire, then renew until renewal fails past the deadline (sets `lost`)."""
        while not self.leading.is_set():
            try:
                if await self._try():
                    LOG.info("became the leader (%s)", self.identity)
                    self.leading.set()
                    metrics.LEADER.set(1)
                    break
            except (KubeError, OSError, TimeoutError) as exc:
                LOG.warning("leader election: %s", exc)
            await asyncio.sleep(self.retry_period)
        last_renewal = asyncio.get_running_loop().time()
        while True:
            await asyncio.sleep(self.retry_period)
            try:
                if await self._try():
                    last_renewal = asyncio.get_running_loop().time()
                    continue
            except (KubeError, OSError, TimeoutError) as exc:
                LOG.warning("lease renewal failed: %s", exc)
            if asyncio.get_running_loop().time() - last_renewal > self.renew_deadline:
                LOG.error("lost the lease: stopping")
                metrics.LEADER.set(0)
                self.leading.clear()
                self.lost.set()
                return

    async def release(self) -> None:
        """Give the lease up on a clean shutdown, so the next leader need not wait it out."""
        if not self.leading.is_set():
            return
        lease = await self.kube.get(LEASE, self.namespace, self.name)
        if lease is None or (lease.get("spec") or {}).get("holderIdentity") != self.identity:
            return
        lease["spec"]["holderIdentity"] = None
        lease["spec"]["leaseDurationSeconds"] = 1
        try:
            await self.kube.replace(LEASE, lease)
        except KubeError as exc:
            LOG.warning("could not release the lease: %s", exc)
        metrics.LEADER.set(0)
