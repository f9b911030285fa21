"""`metadata.managedFields`: who owns which fields, and how each kind of write changes that.

Entries are keyed by (manager, operation, subresource) like the apiserver's, stored as FieldsV1 and
sorted Apply-first then by time. Rules implemented (structured-merge-diff's Updater):

- **Update** (create, PUT, JSON/merge/strategic patch): the writer gains every field the write
  added or changed, loses the ones it removed, and takes changed fields away from everyone else
  (an update always forces). Removed fields leave every manager.
- **Apply**: the applier's set becomes exactly the applied configuration's field set. Fields whose
  value the apply changes while another manager owns them are conflicts: 409 with one
  `FieldManagerConflict` cause per field unless `force=true`, which moves ownership to the applier.
  Fields the applier applied before and no longer applies are removed from the object unless
  someone else owns them (`ssa.prune`).
- Never owned: apiVersion, kind, metadata.name/namespace/uid/resourceVersion/generation/
  creationTimestamp/managedFields; `.status` of a kind with a status subresource is owned only
  through `/status` writes, and those own nothing else.
- An entry's `time` changes only when its field set changes, so a no-op write stays a no-op.
- A client may replace managedFields by sending different ones (`[{}]` clears them), as kubectl's
  client-side to server-side apply migration does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .fieldpath import FieldSet, Path, describe, from_fields_v1, to_fields_v1
from .status import ApiError, cause

# Server-set metadata that no manager can own (stripped from every field set).
SYSTEM_METADATA = frozenset({"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                             "selfLink", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds"})
ENVELOPE = frozenset({"f:apiVersion", "f:kind"})
PROTECTED: FieldSet = {("f:metadata",), ("f:apiVersion",), ("f:kind",)} | {("f:metadata", "f:" + n) for n in SYSTEM_METADATA}


@dataclass
class Manager:
    """One managedFields entry."""

    manager: str
    operation: str  # Apply or Update
    api_version: str
    time: str
    fields: FieldSet = field(default_factory=set)
    subresource: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.manager, self.operation, self.subresource)

    def label(self) -> str:
        """How conflict messages name this manager."""
        where = f' with subresource "{self.subresource}"' if self.subresource else ""
        return f'"{self.manager}"{where} using {self.api_version}'


def decode(entries: Any) -> list[Manager]:
    """managedFields of an object -> managers (ApiError 422 when malformed)."""
    managers = []
    for index, entry in enumerate(entries or []):
        where = f"metadata.managedFields[{index}]"
        if not isinstance(entry, dict):
            raise _invalid_entry(where, "must be an object")
        if not entry:
            continue  # `[{}]` is how a client resets managedFields
        try:
            fields = from_fields_v1(entry.get("fieldsV1") or {})
        except ValueError as error:
            raise _invalid_entry(f"{where}.fieldsV1", str(error)) from None
        if entry.get("operation") not in ("Apply", "Update"):
            raise _invalid_entry(f"{where}.operation", f'Unsupported value: "{entry.get("operation")}": supported values: "Apply", "Update"')
        managers.append(Manager(manager=str(entry.get("manager") or ""), operation=entry["operation"],
                                api_version=str(entry.get("apiVersion") or ""), time=str(entry.get("time") or ""),
                                fields=fields, subresource=str(entry.get("subresource") or "")))
    return managers


def _invalid_entry(where: str, message: str) -> ApiError:
    return ApiError(422, f"{where}: Invalid value: {message}", details={"causes": [cause(where, "FieldValueInvalid", message)]})


def encode(managers: list[Manager]) -> list[dict[str, Any]]:
    """Managers -> managedFields entries, sorted as the apiserver sorts them; empty owners dropped."""
    entries = []
    for manager in sorted((m for m in managers if m.fields), key=lambda m: (m.operation, m.time, m.manager, m.api_version, m.subresource)):
        entry: dict[str, Any] = {"manager": manager.manager, "operation": manager.operation,
                                 "apiVersion": manager.api_version, "time": manager.time,
                                 "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(manager.fields)}
        if manager.subresource:
            entry["subresource"] = manager.subresource
        entries.append(entry)
    return entries


def ownable(paths: FieldSet, *, status_subresource: bool, subresource: str) -> FieldSet:
    """The paths a write through `subresource` may own (see module docstring)."""
    def allowed(path: Path) -> bool:
        if path[0] in ENVELOPE or path == ("f:metadata",):
            return False
        if path[0] == "f:metadata" and path[1][2:] in SYSTEM_METADATA:
            return False
        if subresource == "status":
            return path[0] == "f:status"
        return not (status_subresource and path[0] == "f:status")
    return {path for path in paths if allowed(path)}


def _entry(managers: list[Manager], *, name: str, operation: str, subresource: str, api_version: str, now: str) -> Manager:
    for manager in managers:
        if manager.key == (name, operation, subresource):
            return manager
    manager = Manager(manager=name, operation=operation, api_version=api_version, time=now, subresource=subresource)
    managers.append(manager)
    return manager


def _set_fields(manager: Manager, fields: FieldSet, *, api_version: str, now: str) -> None:
    if fields != manager.fields or api_version != manager.api_version:
        manager.time = now
    manager.fields = fields
    manager.api_version = api_version


def record_update(managers: list[Manager], *, name: str, subresource: str, api_version: str, now: str,
                  added: FieldSet, modified: FieldSet, removed: FieldSet) -> None:
    """Ownership after an Update-style write (in place)."""
    changed = added | modified
    writer = _entry(managers, name=name, operation="Update", subresource=subresource, api_version=api_version, now=now)
    for manager in managers:
        if manager is not writer:
            manager.fields = manager.fields - changed - removed
    _set_fields(writer, (writer.fields | changed) - removed, api_version=api_version, now=now)


def take_conflicts(managers: list[Manager], *, applier: tuple[str, str, str], changed: FieldSet, force: bool) -> None:
    """Raise the 409 an apply gets for fields others own, or (force) take those fields from them."""
    conflicts = [(manager, manager.fields & changed) for manager in managers if manager.key != applier]
    conflicts = [(manager, paths) for manager, paths in conflicts if paths]
    if not conflicts:
        return
    if not force:
        raise conflict_error(conflicts)
    for manager, paths in conflicts:
        manager.fields = manager.fields - paths


def record_apply(managers: list[Manager], *, name: str, subresource: str, api_version: str, now: str,
                 applied: FieldSet) -> FieldSet:
    """Make `applied` the applier's set (in place); returns what it owned before, for pruning."""
    applier = _entry(managers, name=name, operation="Apply", subresource=subresource, api_version=api_version, now=now)
    previous = set(applier.fields)
    _set_fields(applier, set(applied), api_version=api_version, now=now)
    return previous


def others_fields(managers: list[Manager], key: tuple[str, str, str]) -> FieldSet:
    owned: FieldSet = set()
    for manager in managers:
        if manager.key != key:
            owned |= manager.fields
    return owned


def conflict_error(conflicts: list[tuple[Manager, FieldSet]]) -> ApiError:
    """409 Conflict worded like the apiserver's `Apply failed with N conflicts: ...`."""
    causes = [cause(describe(path), "FieldManagerConflict", f"conflict with {manager.label()}")
              for manager, paths in conflicts for path in sorted(paths)]
    if len(causes) == 1:
        body = f"{causes[0]['message']}: {causes[0]['field']}"
    else:
        blocks = []
        for manager, paths in conflicts:
            lines = "".join(f"\n- {describe(path)}" for path in sorted(paths))
            blocks.append(f"conflicts with {manager.label()}:{lines}")
        body = "\n".join(blocks)
    plural = "s" if len(causes) > 1 else ""
    return ApiError(409, f"Apply failed with {len(causes)} conflict{plural}: {body}", details={"causes": causes})
