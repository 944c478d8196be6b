"""Vessel-grouping policies (RULEBOOK 3.1) and coding settings, as validated data.

``sir`` (default, SIR-QA) groups external iliac + common femoral and superficial femoral +
popliteal (arteries), external iliac + common femoral and femoral + popliteal (veins);
``named-vessel`` counts every named vessel. Groups apply per side: left and right are different
vessels (SMD). Settings (documentation mode, the 37253 MUE) and the services that already include
IVUS (RULEBOOK 4) live in ``settings.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from pydantic import Field

from .errors import IvusCoderError, RuleFileError
from .ontology import _Strict, load_ontology, read_json_rule_file, validate_model

DocumentationMode = Literal["flag", "strict"]


class GroupEntry(_Strict):
    id: str = Field(pattern=r"^(artery|vein)\.[a-z_]+(\+[a-z_]+)+$")
    members: tuple[str, ...] = Field(min_length=2)


class PolicyEntry(_Strict):
    title: str
    source: str
    description: str
    groups: tuple[GroupEntry, ...]


class PolicyFile(_Strict):
    schema_: str = Field(alias="schema", pattern=r"^ivus-coder\.policies/1$")
    version: str
    about: str
    default: str
    policies: dict[str, PolicyEntry]


class SettingsDefaults(_Strict):
    documentation: DocumentationMode
    mue_37253: int = Field(ge=1)


class BundlingService(_Strict):
    cpt: str
    label: str
    related_vessels: tuple[str, ...]


class SettingsFile(_Strict):
    schema_: str = Field(alias="schema", pattern=r"^ivus-coder\.settings/1$")
    version: str
    about: str
    defaults: SettingsDefaults
    documentation_modes: dict[DocumentationMode, str]
    mue_note: str
    bundling_services: dict[str, BundlingService]
    flags: dict[str, str]


@dataclass(frozen=True, slots=True)
class Policy:
    """A named grouping policy: ``group_of`` maps a base vessel id to its group base id."""

    name: str
    title: str
    source: str
    description: str
    member_to_group: dict[str, str]

    def group_of(self, base_id: str, side: str | None) -> str:
        """The policy group of a sided vessel, e.g. ``vein.external_iliac+common_femoral.left``."""
        group = self.member_to_group.get(base_id, base_id)
        return f"{group}.{side}" if side else group


@dataclass(frozen=True, slots=True)
class CodingSettings:
    """Per-request coding settings; every result echoes them."""

    documentation: DocumentationMode = "flag"
    mue_37253: int = 5

    def as_dict(self) -> dict[str, object]:
        return {"documentation": self.documentation, "mue_37253": self.mue_37253}


class PolicyTable:
    """All policies, settings defaults, bundling services and flag texts."""

    def __init__(self, policies: PolicyFile, settings: SettingsFile, raw: bytes) -> None:
        self.raw = raw
        self.version = f"{policies.version}/{settings.version}"
        self.default = policies.default
        self.settings_file = settings
        ontology = load_ontology()
        self.policies: dict[str, Policy] = {}
        for name, entry in policies.policies.items():
            mapping: dict[str, str] = {}
            for group in entry.groups:
                systems = {member.split(".", 1)[0] for member in group.members}
                if len(systems) != 1 or any(m not in ontology.vessels for m in group.members):
                    raise RuleFileError("E010", group=group.id)
                for member in group.members:
                    if member in mapping:
                        raise RuleFileError("E007", id=member, where=f"policy {name}")
                    mapping[member] = group.id
            self.policies[name] = Policy(
                name, entry.title, entry.source, entry.description, mapping
            )
        if self.default not in self.policies:
            raise RuleFileError("E002", path="policies.json", detail="default names no policy")
        for service in settings.bundling_services.values():
            for vid in service.related_vessels:
                if vid != "*" and vid not in ontology.vessels:
                    raise RuleFileError("E003", vessel=vid, where="settings.bundling_services")

    def get(self, name: str | None) -> Policy:
        """The policy called ``name`` (the default when None); E004 for an unknown name."""
        key = name or self.default
        if key not in self.policies:
            raise IvusCoderError("E004", policy=key, known=", ".join(sorted(self.policies)))
        return self.policies[key]

    def settings(
        self, documentation: str | None = None, mue_37253: int | None = None
    ) -> CodingSettings:
        """Defaults from ``settings.json`` with per-request overrides validated (E005, E006)."""
        defaults = self.settings_file.defaults
        mode = documentation or defaults.documentation
        if mode not in self.settings_file.documentation_modes:
            known = ", ".join(sorted(self.settings_file.documentation_modes))
            raise IvusCoderError("E005", mode=mode, known=known)
        mue = defaults.mue_37253 if mue_37253 is None else mue_37253
        if not isinstance(mue, int) or isinstance(mue, bool) or mue < 1:
            raise IvusCoderError("E006", value=mue)
        return CodingSettings(documentation=mode, mue_37253=mue)  # type: ignore[arg-type]

    def flag_message(self, code: str) -> str:
        return self.settings_file.flags[code]


@cache
def load_policies() -> PolicyTable:
    """Load and validate ``policies.json`` and ``settings.json`` once per process."""
    pol_data, pol_raw = read_json_rule_file("rules_core.data", "policies.json")
    set_data, set_raw = read_json_rule_file("rules_core.data", "settings.json")
    policies = validate_model(PolicyFile, pol_data, "rules_core/data/policies.json")
    settings = validate_model(SettingsFile, set_data, "rules_core/data/settings.json")
    return PolicyTable(policies, settings, pol_raw + set_raw)  # type: ignore[arg-type]
