"""Failed-login lockout, as Keystone's [security_compliance] options define it; pure rules.

After `failure_attempts` wrong passwords in a row a user is locked: even the right password
is refused for `duration` seconds after the last failure (forever, until an administrator
enables the user again, when `duration` is None). A good password before that resets the
count; so does enabling the user. Off unless `failure_attempts` is set, as in Keystone.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LockoutPolicy:
    failure_attempts: int | None = None  # [security_compliance] lockout_failure_attempts
    duration: float | None = 1800.0  # [security_compliance] lockout_duration, seconds

    @property
    def enabled(self) -> bool:
        return self.failure_attempts is not None


def _lock_over(policy: LockoutPolicy, last_failure_at: float | None, now: float) -> bool:
    if policy.duration is None:
        return False
    return last_failure_at is None or now >= last_failure_at + policy.duration


def is_locked(policy: LockoutPolicy, failures: int, last_failure_at: float | None,
              now: float) -> bool:
    """True when a login must be refused whatever the password."""
    if policy.failure_attempts is None or failures < policy.failure_attempts:
        return False
    return not _lock_over(policy, last_failure_at, now)


def failures_after_a_wrong_password(policy: LockoutPolicy, failures: int,
                                    last_failure_at: float | None, now: float) -> int:
    """The new count: one more, or a fresh start when a past lockout has run out."""
    if (policy.failure_attempts is not None and failures >= policy.failure_attempts
            and _lock_over(policy, last_failure_at, now)):
        return 1
    return failures + 1
