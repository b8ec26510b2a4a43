#!/usr/bin/python3
"""Verifies DKIM signatures and the ARC chain of messages with dkimpy (Debian python3-dkim),
an implementation that shares no code with malist or mailauth.

Usage: dkimpy-verify.py KEYS.json MESSAGE.eml...
KEYS.json maps DNS names ("sel._domainkey.example.org") to TXT record text; it is the only
DNS this script answers from (dkimpy's CLIs, dkimverify and arcverify, would ask real DNS).
Prints one JSON object per message: every DKIM-Signature's result, in header order, and the
ARC chain's cv with dkimpy's reason.
"""
import json
import sys

import dkim


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        keys = {name.lower().rstrip("."): text for name, text in json.load(f).items()}

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode("ascii")
        text = keys.get(name.lower().rstrip("."))
        return text.encode("ascii") if text is not None else None

    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            message = f.read()
        print(json.dumps({"file": path, "dkim": verify_all(message, dnsfunc), "arc": arc(message, dnsfunc)}))


def verify_all(message, dnsfunc):
    d = dkim.DKIM(message)
    count = sum(1 for name, _ in d.headers if name.lower() == b"dkim-signature")
    results = []
    for idx in range(count):
        d = dkim.DKIM(message)
        try:
            ok = bool(d.verify(idx=idx, dnsfunc=dnsfunc))
            error = None
        except dkim.DKIMException as e:
            ok, error = False, str(e)
        sig = d.signature_fields or {}
        results.append({
            "d": sig.get(b"d", b"").decode("ascii", "replace"),
            "s": sig.get(b"s", b"").decode("ascii", "replace"),
            "a": sig.get(b"a", b"").decode("ascii", "replace"),
            "ok": ok,
            "error": error,
        })
    return results


def arc(message, dnsfunc):
    cv, _results, reason = dkim.arc_verify(message, dnsfunc=dnsfunc)
    return {"cv": cv.decode("ascii") if isinstance(cv, bytes) else cv, "reason": reason}


if __name__ == "__main__":
    main()
