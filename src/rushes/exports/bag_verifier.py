#!/usr/bin/env python3
"""Check an evidence bag made by rushes, offline, with Python 3.8 or later and nothing else.

    python3 verify_bag.py [BAG_FOLDER]      (default: the folder this file is in)

It needs no network, no package and nothing from the archive that made the bag, so anyone can
run it years later. It checks that:

- the bag is a BagIt bag (bagit.txt, bag-info.txt with its Payload-Oxum);
- every file under data/ matches BOTH its SHA-256 and its SHA-512 manifest line, none is
  missing and none was added; every tag file matches the tag manifests, none was added;
- each original's SHA-256 is the hash in its file name, and its size and SHA-512 are the ones
  recorded in its `received` custody event;
- every custody event is intact: its hash is recomputed from its link, the hash before it and
  the SHA-256 of what it says (canonical JSON, as docs/evidence-model.md of rushes describes),
  for another original's event from the `body_hash` shown in its place; each event links to the
  one before it, the chain in data/custody/chain.jsonl runs without a gap to the head recorded
  in bag-info.txt, and each original's own events (data/custody/<sha256>.jsonl) are exactly the
  ones in that chain;
- each trusted timestamp in data/timestamps/ (an RFC 3161 reply from a time-stamping authority)
  vouches for the hash its event has in that chain; where an `openssl` command is installed,
  `openssl ts -verify` checks the authority's signature too, else the commands are printed.

It prints "VERIFIED: ..." and exits 0, or one "FAILED: ..." line per problem, naming the file
and what is wrong, and exits 1. This file is copied unchanged into every bag as verify_bag.py
and is also what `rushes verify-bag` runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

GENESIS = "0" * 64
REQUIRED = ("sha256", "sha512")
NAMES = {"sha256": "SHA-256", "sha512": "SHA-512"}
# An event in full: what it says, its salt, its links. Made before 2026-12: no salt, and its
# hash was taken over all of it, links included.
EVENT_FIELDS = {
    *("seq", "at", "asset", "verb", "actor", "tool", "details", "salt", "prev_hash", "hash")
}
OLD_EVENT_FIELDS = EVENT_FIELDS - {"salt"}
# Another original's event in chain.jsonl: its place in the chain and the hash of what it says,
# from which its own hash is checked; not what it says.
WITHHELD_FIELDS = {"seq", "prev_hash", "body_hash", "hash"}
# ... made before 2026-12: its link cannot be checked without its content.
OLD_WITHHELD_FIELDS = WITHHELD_FIELDS - {"body_hash"}
# An event of this bag whose crew names were replaced by pseudonyms: its links, and under
# "pseudonymised" what it says with the names replaced (which its hash no longer covers).
PSEUDONYMISED = {
    frozenset(WITHHELD_FIELDS | {"pseudonymised"}),
    frozenset(OLD_WITHHELD_FIELDS | {"pseudonymised"}),
}
WHOLE = {frozenset(EVENT_FIELDS), frozenset(OLD_EVENT_FIELDS)}
WITHHELD = {frozenset(WITHHELD_FIELDS), frozenset(OLD_WITHHELD_FIELDS)}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20
_MAX_PROBLEMS = 200


class Check:
    """The problems found so far, each naming a file and what is wrong with it."""

    def __init__(self, bag: Path) -> None:
        self.bag = bag
        self.info: dict[str, str] = {}  # bag-info.txt
        self.problems: list[str] = []
        self.hashes: dict[int, str] = {}  # every event's hash in chain.jsonl, by seq
        self.pseudonymised = 0  # this bag's events shown with crew pseudonyms
        self.unlinked = 0  # the last event shown without content whose link is taken on trust

    def fail(self, text: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(text)
        elif len(self.problems) == _MAX_PROBLEMS:
            self.problems.append("... more problems not listed")


def changed(relative: str, algorithm: str, manifest: str) -> str:
    return f"{relative}: {NAMES.get(algorithm, algorithm)} does not match {manifest}: changed"


def canonical(value: object) -> bytes:
    """The bytes a custody event's hash is taken over (Python's json, keys sorted, compact)."""
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def link_hash(body_hash: str, prev_hash: str) -> str:
    return hashlib.sha256(canonical({"body_hash": body_hash, "prev_hash": prev_hash})).hexdigest()


def event_hash(event: dict) -> str:
    """The hash of an event shown in full."""
    if "salt" not in event:  # made before 2026-12: taken over all of it
        whole = {k: v for k, v in event.items() if k != "hash"}
        return hashlib.sha256(canonical(whole)).hexdigest()
    says = {k: v for k, v in event.items() if k not in ("prev_hash", "hash")}
    return link_hash(hashlib.sha256(canonical(says)).hexdigest(), event["prev_hash"])


def tag_values(path: Path) -> dict[str, str]:
    """`Name: value` lines of a BagIt tag file; indented lines continue the value before."""
    values: dict[str, str] = {}
    name = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line[:1] in (" ", "\t") and name:
            values[name] += " " + line.strip()
        elif ":" in line:
            name, value = line.split(":", 1)
            name = name.strip()
            values[name] = value.strip()
    return values


def file_digests(path: Path, algorithms: list[str]) -> tuple[dict[str, str], int]:
    """Every digest of one file in a single read, and its size."""
    hashers = {alg: hashlib.new(alg) for alg in algorithms}
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            for hasher in hashers.values():
                hasher.update(chunk)
    return {alg: h.hexdigest() for alg, h in hashers.items()}, size


def content(event: dict) -> dict:
    """What an event says: itself, or what it says with crew names replaced."""
    shown = event.get("pseudonymised")
    return shown if isinstance(shown, dict) else event


def read_manifest(check: Check, name: str) -> dict[str, str]:
    """{relative path: digest} of one (tag) manifest; unsafe or malformed lines are problems."""
    entries: dict[str, str] = {}
    text = (check.bag / name).read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(None, 1)
        if len(parts) != 2:
            check.fail(f"{name} line {number}: not 'digest path'")
            continue
        digest, raw = parts[0].lower(), parts[1].lstrip("*").strip()
        relative = raw.replace("%0D", "\r").replace("%0A", "\n")  # as bagit encodes them
        normal = os.path.normpath(relative)
        if os.path.isabs(normal) or normal.split(os.sep)[0] == "..":
            check.fail(f"{name} line {number}: {relative!r} points outside the bag")
            continue
        entries[normal.replace(os.sep, "/")] = digest
    return entries


def files_under(root: Path, bag: Path) -> list[str]:
    """Every file below root as a path relative to the bag, symlinks included (never followed)."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files + [d for d in dirs if Path(folder, d).is_symlink()]):
            found.append(Path(folder, name).relative_to(bag).as_posix())
    return found


def check_structure(check: Check) -> None:
    bag = check.bag
    declaration = bag / "bagit.txt"
    if not declaration.is_file():
        check.fail("bagit.txt is missing: this is not a BagIt bag")
    elif "BagIt-Version" not in tag_values(declaration):
        check.fail("bagit.txt: no BagIt-Version line")
    info_path = bag / "bag-info.txt"
    if not info_path.is_file():
        check.fail("bag-info.txt is missing")
        return
    check.info = tag_values(info_path)
    if "Payload-Oxum" not in check.info:
        check.fail("bag-info.txt: no Payload-Oxum line")


def check_payload(check: Check) -> dict[str, tuple[dict[str, str], int]]:
    """Every payload file against every manifest; returns {path: (digests, size)}."""
    bag = check.bag
    manifests: dict[str, dict[str, str]] = {}
    for path in sorted(bag.glob("manifest-*.txt")):
        algorithm = path.name[len("manifest-") : -len(".txt")]
        if algorithm in hashlib.algorithms_available:
            manifests[algorithm] = read_manifest(check, path.name)
        else:
            check.fail(f"{path.name}: unknown hash algorithm {algorithm!r}")
    for algorithm in REQUIRED:
        if algorithm not in manifests:
            check.fail(f"manifest-{algorithm}.txt is missing")
    on_disk = files_under(bag / "data", bag)
    measured: dict[str, tuple[dict[str, str], int]] = {}
    for relative in on_disk:
        path = bag / relative
        if path.is_symlink() or not path.is_file():
            check.fail(f"{relative}: not a regular file (a link or device was put in the bag)")
            continue
        measured[relative] = file_digests(path, sorted(manifests))
    for algorithm, entries in manifests.items():
        name = f"manifest-{algorithm}.txt"
        for relative, digest in entries.items():
            if not relative.startswith("data/"):
                check.fail(f"{name}: {relative} is not under data/")
            elif relative not in measured:
                if relative not in on_disk:
                    check.fail(f"{relative}: missing (listed in {name}, not in the bag)")
            elif measured[relative][0][algorithm] != digest:
                check.fail(changed(relative, algorithm, name))
        for relative in measured:
            if relative not in entries:
                check.fail(f"{relative}: added (in the bag but not listed in {name})")
    oxum = check.info.get("Payload-Oxum", "")
    found = f"{sum(size for _, size in measured.values())}.{len(on_disk)}"
    if oxum and oxum != found:
        check.fail(f"bag-info.txt: Payload-Oxum says {oxum} (bytes.files) but data/ holds {found}")
    return measured


def check_tags(check: Check) -> None:
    bag = check.bag
    present = [
        p
        for p in files_under(bag, bag)
        if not p.startswith("data/") and not p.startswith("tagmanifest-")
    ]
    for algorithm in REQUIRED:
        name = f"tagmanifest-{algorithm}.txt"
        if not (bag / name).is_file():
            check.fail(f"{name} is missing")
            continue
        entries = read_manifest(check, name)
        for relative, digest in entries.items():
            path = bag / relative
            if not path.is_file():
                check.fail(f"{relative}: missing (listed in {name}, not in the bag)")
            elif file_digests(path, [algorithm])[0][algorithm] != digest:
                check.fail(changed(relative, algorithm, name))
        for relative in present:
            if relative not in entries:
                check.fail(f"{relative}: added (in the bag but not listed in {name})")


def read_events(check: Check, relative: str) -> list[tuple[int, dict]]:
    """(line number, event) for each line of a JSON Lines file; unreadable lines are problems."""
    events = []
    path = check.bag / relative
    if not path.is_file():
        check.fail(f"{relative} is missing")
        return events
    for number, line in enumerate(path.read_bytes().split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line.decode("utf-8"))
        except ValueError:
            check.fail(f"{relative} line {number}: not valid JSON (edited or damaged)")
            continue
        if not isinstance(event, dict) or not isinstance(event.get("seq"), int):
            check.fail(f"{relative} line {number}: not a custody event")
            continue
        events.append((number, event))
    return events


def check_chain(check: Check) -> dict[int, dict]:
    """Walk chain.jsonl: no gaps, every link, every full event's hash, ending at the head.
    Returns the full events (this bag's originals') by seq."""
    relative = "data/custody/chain.jsonl"
    full: dict[int, dict] = {}
    events = read_events(check, relative)
    previous_seq, previous_hash = None, GENESIS
    for number, event in events:
        seq, where = event["seq"], f"{relative} line {number} (event {event['seq']})"
        if previous_seq is not None and seq != previous_seq + 1:
            gone = f"{previous_seq + 1}..{seq - 1}" if seq > previous_seq + 2 else seq - 1
            check.fail(f"{where}: event(s) {gone} missing before it (removed or out of order)")
        if (previous_seq is not None or seq == 1) and event.get("prev_hash") != previous_hash:
            check.fail(f"{where}: its link to the event before it is broken")
        fields = frozenset(event)
        if fields in WHOLE:
            if event_hash(event) != event["hash"]:
                check.fail(f"{where}: content does not match its hash (edited)")
            full[seq] = event
        elif fields in PSEUDONYMISED and not isinstance(event["pseudonymised"], dict):
            check.fail(f"{where}: its pseudonymised content is not an object")
        elif fields in PSEUDONYMISED or fields in WITHHELD:
            if fields in PSEUDONYMISED:
                full[seq] = event
                check.pseudonymised += 1
            if "body_hash" not in event:
                check.unlinked = seq
            elif link_hash(str(event["body_hash"]), str(event["prev_hash"])) != event["hash"]:
                check.fail(f"{where}: its hash does not cover its link (edited)")
        else:
            check.fail(f"{where}: unexpected fields {sorted(fields ^ EVENT_FIELDS)}")
        previous_seq, previous_hash = seq, event.get("hash")
        check.hashes[seq] = str(previous_hash)
    head = check.info.get("Custody-Chain-Head", "").split()
    if len(head) != 2 or not head[0].isdigit():
        check.fail("bag-info.txt: no Custody-Chain-Head line ('seq hash')")
    elif events and [str(previous_seq), previous_hash] != head:
        check.fail(
            f"{relative}: ends at event {previous_seq} {previous_hash}, but the chain head "
            f"recorded when the bag was made is event {head[0]} {head[1]}"
        )
    return full


def _element(data: bytes, at: int) -> tuple[int, int, int]:
    """The DER element at `at`: (tag, where its content starts, where it ends)."""
    tag, length, at = data[at], data[at + 1], at + 2
    if length & 0x80:
        size = length & 0x7F
        length, at = int.from_bytes(data[at : at + size], "big"), at + size
    if at + length > len(data):
        raise ValueError("truncated")
    return tag, at, at + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    found = []
    while start < end:
        element = _element(data, start)
        found.append(element)
        start = element[2]
    return found


def token_imprint(reply: bytes) -> bytes:
    """The hash a timestamp reply (RFC 3161 TimeStampResp) vouches for: TimeStampResp >
    ContentInfo > [0] SignedData > encapContentInfo > [0] OCTET STRING TSTInfo >
    messageImprint > hashedMessage. Raises ValueError when it is not shaped so."""
    _, start, end = _element(reply, 0)
    token = _children(reply, start, end)[1]  # after the status
    content = _children(reply, token[1], token[2])[1]  # after the content type
    signed = _children(reply, content[1], content[2])[0]
    encapsulated = _children(reply, signed[1], signed[2])[2]  # after version and algorithms
    wrapped = _children(reply, encapsulated[1], encapsulated[2])[1]
    octets = _children(reply, wrapped[1], wrapped[2])[0]
    info = _children(reply, octets[1], octets[2])[0]
    imprint = _children(reply, info[1], info[2])[2]  # after version and policy
    tag, start, end = _children(reply, imprint[1], imprint[2])[1]
    if tag != 0x04:
        raise ValueError("no hashed message")
    return reply[start:end]


def check_timestamps(check: Check) -> str:
    """Each TSA reply in data/timestamps/ vouches for the hash that event has in chain.jsonl;
    openssl, where installed, checks its signature and certificates. Returns a sentence."""
    folder = check.bag / "data" / "timestamps"
    listing = folder / "timestamps.json"
    if not listing.is_file():
        return "No trusted timestamp came with this bag."
    roots = folder / "tsa-roots.pem"
    entries = json.loads(listing.read_text(encoding="utf-8"))
    openssl = shutil.which("openssl")
    commands = []
    for entry in entries:
        where = f"data/timestamps/{entry['file']}"
        seq, stamped = entry["seq"], entry["hash"]
        try:
            imprint = token_imprint((folder / entry["file"]).read_bytes()).hex()
        except (OSError, ValueError, IndexError):
            check.fail(f"{where}: not a timestamp reply")
            continue
        if imprint != stamped:
            check.fail(f"{where}: vouches for {imprint}, not for {stamped} as listed")
        elif check.hashes.get(seq) != stamped:
            check.fail(
                f"{where}: a TSA stamped event {seq} as {stamped}, but in "
                f"data/custody/chain.jsonl it is {check.hashes.get(seq, 'missing')}: rewritten"
            )
        command = [
            "openssl",
            "ts",
            "-verify",
            "-digest",
            stamped,
            "-in",
            where,
            "-CAfile",
            "data/timestamps/tsa-roots.pem",
        ]
        if openssl and roots.is_file():
            done = subprocess.run(
                [*command[:6], str(folder / entry["file"]), "-CAfile", str(roots)],
                capture_output=True,
                text=True,
                check=False,
            )
            if "Verification: OK" not in done.stdout:
                check.fail(f"{where}: openssl ts -verify refuses it: {done.stderr.strip()[:300]}")
        else:
            commands.append(" ".join(command))
    said = f"{len(entries)} trusted timestamp(s) vouch for the chain's hashes"
    if not commands:
        return f"{said}; openssl checked each TSA signature against tsa-roots.pem."
    return (
        f"{said}. Their TSA signatures were not checked here (no openssl, or no "
        "tsa-roots.pem); from the bag's folder run: " + "; ".join(commands)
    )


def check_originals(
    check: Check, measured: dict[str, tuple[dict[str, str], int]], full: dict[int, dict]
) -> int:
    """Each original against its name, its record and its own custody events."""
    originals = {}
    for relative, (digests, size) in measured.items():
        if relative.startswith("data/originals/"):
            name = relative[len("data/originals/") :]
            sha = name.split(".", 1)[0]
            if not _SHA256.fullmatch(sha):
                check.fail(f"{relative}: not named by a SHA-256")
                continue
            actual = (  # hashed here when its manifest is gone
                digests.get("sha256") or file_digests(check.bag / relative, ["sha256"])[0]["sha256"]
            )
            if actual != sha:
                check.fail(f"{relative}: its SHA-256 is {actual}, not the one in its name")
            originals[sha] = (relative, digests.get("sha512"), size)
    for sha in sorted(originals):
        if f"data/assets/{sha}.json" not in measured:
            check.fail(f"data/assets/{sha}.json is missing (the record of {originals[sha][0]})")
        check_asset_events(check, sha, originals[sha], full)
    for relative in measured:
        parent, _, name = relative.rpartition("/")
        stem = name.split(".", 1)[0]
        known = stem in originals or name == "chain.jsonl"
        if parent in ("data/assets", "data/custody") and not known:
            check.fail(f"{relative}: no original {stem} in data/originals/")
    for seq, event in full.items():
        if content(event).get("asset") not in originals:
            check.fail(
                f"data/custody/chain.jsonl: event {seq} is about {content(event).get('asset')}, "
                "which is not in this bag"
            )
    return len(originals)


def check_asset_events(
    check: Check, sha: str, original: tuple[str, str | None, int], full: dict[int, dict]
) -> None:
    relative = f"data/custody/{sha}.jsonl"
    events = read_events(check, relative)
    listed: set[int] = set()
    received = False
    for number, event in events:
        seq, where = event["seq"], f"{relative} line {number} (event {event['seq']})"
        if listed and seq <= max(listed):
            check.fail(f"{where}: out of order or repeated")
        listed.add(seq)
        pseudonymised = frozenset(event) in PSEUDONYMISED
        if frozenset(event) not in WHOLE and not pseudonymised:
            check.fail(f"{where}: not a full custody event")
            continue
        if not pseudonymised and event_hash(event) != event["hash"]:
            check.fail(f"{where}: content does not match its hash (edited)")
        elif full.get(seq) != event:
            check.fail(f"{where}: differs from event {seq} in data/custody/chain.jsonl")
        said = content(event)
        if said.get("asset") != sha:
            check.fail(f"{where}: is about asset {said.get('asset')}, not {sha}")
        if said.get("verb") == "received":
            received = True
            details = said["details"] if isinstance(said.get("details"), dict) else {}
            if details.get("sha512") != original[1] or details.get("size") != original[2]:
                check.fail(f"{where}: the size or SHA-512 it records is not that of {original[0]}")
    if events and not received:
        check.fail(f"{relative}: no `received` event for this original")
    for seq, event in full.items():
        if content(event).get("asset") == sha and seq not in listed:
            check.fail(f"{relative}: event {seq} of this original is in the chain but not here")


def verify(bag: Path) -> tuple[list[str], str]:
    """All problems of the bag (none: it verifies), and a summary for the verdict."""
    check = Check(bag)
    if not bag.is_dir():
        return [f"{bag}: no such folder"], ""
    check_structure(check)
    if not (bag / "data").is_dir():
        check.fail("data/ is missing: the bag has no payload")
        return check.problems, ""
    measured = check_payload(check)
    check_tags(check)
    originals = check_originals(check, measured, check_chain(check))
    stamped = check_timestamps(check)
    tag_manifest = bag / "tagmanifest-sha256.txt"
    fingerprint = (
        hashlib.sha256(tag_manifest.read_bytes()).hexdigest() if tag_manifest.is_file() else ""
    )
    events = (
        "every custody event re-hashes and links"
        if not check.pseudonymised
        else "every custody event shown whole re-hashes, and all link"
    )
    summary = (
        f"{originals} originals and {len(measured)} files in all match their SHA-256 and "
        f"SHA-512 manifests; {events} up to the head recorded "
        f"at export, event {check.info.get('Custody-Chain-Head', '?')}. "
        f"SHA-256 of tagmanifest-sha256.txt: {fingerprint} (compare it with the `exported` "
        f"custody event the archive kept for this bag). {stamped}"
    )
    if check.pseudonymised:
        summary += (
            f" {check.pseudonymised} event(s) show crew pseudonyms instead of names: their links "
            "are checked, what they say cannot be checked against their hashes outside the archive."
        )
    if check.unlinked:
        summary += (
            f" Some events up to event {check.unlinked} are shown without their content in the "
            "format used before 2026-12, whose hash does not show that it covers its link: the "
            f"chain before event {check.unlinked} is checked against itself, not against the head "
            "or the timestamps after it (a consistent rewrite of it would not show)."
        )
    return check.problems, summary


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    bag = Path(args[0]) if args else Path(__file__).resolve().parent
    try:
        problems, summary = verify(bag)
    except OSError as error:
        problems, summary = [f"{error.filename or bag}: cannot be read ({error.strerror})"], ""
    if problems:
        for problem in problems:
            print(f"FAILED: {problem}")
        print(f"FAILED: {len(problems)} problem(s); this bag cannot be relied on as it is.")
        return 1
    print(f"VERIFIED: {bag}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
