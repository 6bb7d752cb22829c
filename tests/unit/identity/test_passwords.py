from __future__ import annotations

from neutrino.identity.passwords import ScryptParams, hash_password, verify_password

FAST = ScryptParams(n=2**10, r=8, p=1)


def test_right_password_verifies() -> None:
    assert verify_password("s3cret", hash_password("s3cret", FAST))


def test_wrong_password_is_refused() -> None:
    assert not verify_password("s3cret!", hash_password("s3cret", FAST))


def test_each_hash_has_its_own_salt() -> None:
    assert hash_password("same", FAST) != hash_password("same", FAST)


def test_stored_form_names_algorithm_and_parameters() -> None:
    algorithm, params, salt, digest = hash_password("x", FAST).split("$")
    assert algorithm == "scrypt"
    assert ScryptParams.decode(params) == FAST
    assert salt and digest


def test_default_parameters_verify() -> None:
    assert verify_password("pässwörd", hash_password("pässwörd"))


def test_malformed_stored_hash_never_matches() -> None:
    for stored in ["", "plain", "md5$x$y$z", "scrypt$n=x$AAAA$AAAA", "scrypt$n=16$!!$??",
                   "scrypt$a=1$AAAA$AAAA"]:
        assert not verify_password("anything", stored)
