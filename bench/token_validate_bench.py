"""How long TokenService.validate takes per call, on the path agents and clients hit on
every request: a repeated token (its signature cached) and, for comparison, a fresh one.

Run: .venv/bin/python bench/token_validate_bench.py [--db sqlite postgresql mariadb]
        [--rounds 20000]
Figures, not assertions (this was test_validate_speed_printout in the identity tests).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import ADMIN, database
from neutrino.db.models import Base
from neutrino.db.session import Database
from neutrino.identity.store import IdentityStore
from neutrino.identity.tokens import TokenService


def per_call_us(tokens: TokenService, token_of: list[str]) -> float:
    start = time.perf_counter()
    for token in token_of:
        tokens.validate(token)
    return (time.perf_counter() - start) / len(token_of) * 1e6


def bench(kind: str, rounds: int) -> None:
    with database(kind) as url:
        db = Database(url)
        try:
            Base.metadata.create_all(db.engine)
            store = IdentityStore(db)
            context = store.bootstrap(*ADMIN)
            tokens = TokenService(db, 3600)
            token, _ = tokens.issue(context)
            tokens.validate(token)  # first use: the signing key is read and cached
            repeated = per_call_us(tokens, [token] * rounds)
            fresh_n = max(1, rounds // 20)
            fresh = per_call_us(tokens, [tokens.issue(context)[0] for _ in range(fresh_n)])
        finally:
            db.dispose()
    print(f"{kind:<11} validate, same token: {repeated:8.1f} µs/call ({rounds} calls)   "
          f"new tokens: {fresh:8.1f} µs/call ({fresh_n} calls)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", nargs="+", default=["sqlite"],
                        choices=["sqlite", "postgresql", "mariadb"])
    parser.add_argument("--rounds", type=int, default=20000)
    args = parser.parse_args()
    for kind in args.db:
        bench(kind, args.rounds)


if __name__ == "__main__":
    main()
