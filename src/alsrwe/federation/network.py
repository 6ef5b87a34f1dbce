"""Setting a network up: the coordinator's and the sites' folders, the manifest, joining.

1. The coordinator runs ``init`` (keys) and gives its public card to every site.
2. Each site runs ``init`` with that card (keys, ``site.json``) and sends its card back.
3. The coordinator issues the signed manifest listing every site's card.
4. Each site ``join``s: it checks the manifest against the coordinator card it was given and
   that it lists this site's own keys, and pins it. From then on it answers only requests
   signed by that coordinator for that network's roster.
Cards are public; private keys never leave their folder (mode 0600).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from alsrwe.federation import keys as keyring
from alsrwe.federation.errors import FederationError
from alsrwe.federation.protocol import Manifest, decode_message, encode_message, sign
from alsrwe.federation.rules import DisclosureRules
from alsrwe.federation.site import SiteConfig, read_manifest


def _fresh(directory: Path) -> None:
    if (directory / "keys").exists():
        raise FederationError(str(directory), "already holds federation keys; choose a new "
                                              "folder", code="federation.keys.exists")
    directory.mkdir(parents=True, exist_ok=True)


def init_coordinator(directory: Path, name: str) -> keyring.KeyPair:
    """A coordinator's folder with new keys; its card is ``keys/card.json``."""
    _fresh(directory)
    pair = keyring.generate(name, "coordinator")
    keyring.save(pair, directory / "keys")
    return pair


def init_site(directory: Path, name: str, coordinator_card: Path, *,
              database: str | None = None, csv_dir: str | None = None,
              rules: DisclosureRules | None = None) -> keyring.KeyPair:
    """A site's folder: new keys, the coordinator card it was given, ``site.json``."""
    if (database is None) == (csv_dir is None):
        raise FederationError("data", "give the site's registry (database URL) or a folder of "
                                      "tidy CSV tables, not both", code="federation.site.source")
    card = keyring.read_card(coordinator_card)
    if card.role != "coordinator":
        raise FederationError("coordinator", f"{coordinator_card} is a site's card",
                              code="federation.card.role")
    _fresh(directory)
    pair = keyring.generate(name, "site")
    keyring.save(pair, directory / "keys")
    shutil.copyfile(coordinator_card, directory / "coordinator.json")
    config = SiteConfig(name=name, database=database, csv_dir=csv_dir,
                        rules=rules or DisclosureRules())
    (directory / "site.json").write_text(config.model_dump_json(indent=2) + "\n")
    return pair


def issue_manifest(coordinator_dir: Path, network: str, cards: Sequence[Path],
                   out: Path) -> Manifest:
    """The signed manifest of the network: the coordinator and every site's card."""
    pair = keyring.load(coordinator_dir / "keys")
    sites = [keyring.read_card(p) for p in cards]
    if any(c.role != "site" for c in sites):
        raise FederationError("cards", "every card of the manifest must be a site's",
                              code="federation.card.role")
    manifest = sign(Manifest(network=network, coordinator=pair.card().to_json(),
                             sites=[c.to_json() for c in sites]), pair)
    manifest.site_cards()  # refuses a name listed twice
    out.write_bytes(encode_message(manifest))
    shutil.copyfile(out, coordinator_dir / "network.json") if out.resolve() != (
        coordinator_dir / "network.json").resolve() else None
    return manifest


def join(site_dir: Path, manifest_path: Path) -> Manifest:
    """Pin ``manifest_path`` at the site after checking its signature and membership."""
    coordinator = keyring.read_card(site_dir / "coordinator.json")
    manifest = read_manifest(manifest_path, coordinator)
    own = keyring.read_card(site_dir / "keys" / "card.json")
    if manifest.site_cards().get(own.name) != own:
        raise FederationError("manifest", f"does not list this site ({own.name}) with its keys",
                              code="federation.manifest.member")
    shutil.copyfile(manifest_path, site_dir / "network.json")
    return manifest


def load_coordinator(directory: Path) -> tuple[keyring.KeyPair, Manifest]:
    """The coordinator's keys and the manifest it issued."""
    pair = keyring.load(directory / "keys")
    manifest = decode_message(Manifest, (directory / "network.json").read_bytes())
    return pair, manifest


__all__ = ["init_coordinator", "init_site", "issue_manifest", "join", "load_coordinator"]
