"""The write path: create, update, patch (all four content types) and delete, like the apiserver.

Every write runs the same steps under the store lock, so a resourceVersion precondition and the
write it guards are atomic:
decode -> placement (name/namespace vs URL, namespace exists) -> precondition -> unknown fields ->
[merge: patch or server-side apply] -> status subresource rules -> defaults -> field ownership
(`managers`) -> checks (422) -> system metadata (uid, creationTimestamp, generation) -> no-op
detection -> store (skipped under `dryRun=All`, which still returns the would-be object).
A stored CRD is served at once (deletes and their hooks live in `deletes`).
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from . import crds, managers as ownership, ssa, validation
from .builtin import CHECKS, DEFAULTS, UPDATE_CHECKS
from .deletes import CRD_RESOURCE, NAMESPACES, Deleter
from .managers import Manager
from .objects import Clock, clone, generated_name, list_item_encoding, served, timestamp, without_resource_version
from .patches import APPLY_PATCH, CORE_PATCH_TYPES, CUSTOM_PATCH_TYPES, PATCHERS
from .reads import stored
from .registry import Registry
from .resources import ResourceType
from .status import (ApiError, already_exists, bad_request, forbidden, internal, invalid_resource_version,
                     modified_conflict, not_found, unsupported_media_type)
from .store import Store

# etcd's default --max-request-bytes: a bigger object is refused by etcd itself, after admission.
ETCD_MAX_OBJECT = 1536 * 1024
# Runs after the write path's own checks, before storage (the validating-webhook step); raises to deny.
Admission = Callable[[ResourceType, dict, "dict | None"], None]


@dataclass
class WriteOptions:
    """The query parameters that shape a write, already checked."""

    field_manager: str
    dry_run: bool = False
    field_validation: str = validation.DEFAULT_FIELD_VALIDATION
    force: bool = False
    subresource: str = ""
    explicit_manager: bool = False  # fieldManager was given (apply requires it)
    warnings: list[str] = field(default_factory=list)


def decode_json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise bad_request(f"couldn't get version/kind; json parse error: {error}") from None


def decode_apply(raw: bytes) -> Any:
    """An apply body is YAML (JSON being YAML too)."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        pass
    from ..model.errors import MeshopsError
    from ..yamlio.documents import load_one

    try:
        return load_one(raw, filename="request body").data
    except MeshopsError as error:
        raise bad_request(f"error decoding YAML: {error.message}") from None


class Writer:
    """All writes of one sandbox (registry + store)."""

    def __init__(self, *, registry: Registry, store: Store, clock: Clock,
                 admission: list[Admission] | None = None) -> None:
        self.registry = registry
        self.store = store
        self.clock = clock
        self.admission = admission if admission is not None else []
        self.deleter = Deleter(registry=registry, store=store, clock=clock)

    # -- create ---------------------------------------------------------------------------------

    def create(self, rtype: ResourceType, namespace: str, body: Any, opts: WriteOptions) -> tuple[int, dict]:
        obj = self._envelope(body, rtype)
        metadata = obj["metadata"]
        self._place(rtype, obj, namespace)
        if metadata.get("resourceVersion"):
            raise internal("resourceVersion should not be set on objects to be created")
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = generated_name(str(metadata["generateName"]))
        validation.unknown_fields(obj, rtype, mode=opts.field_validation, warnings=opts.warnings)
        with self.store.lock:
            self._require_namespace(rtype, namespace, name=metadata.get("name") or "")
            if metadata.get("name") and self.store.get(rtype.group_resource, namespace, metadata["name"]):
                raise already_exists(rtype.plural, rtype.group, metadata["name"])
            if rtype.status_subresource:
                obj.pop("status", None)
            return 201, self._finish_update(rtype, old=None, new=obj, opts=opts)

    # -- update and the non-apply patches --------------------------------------------------------

    def update(self, rtype: ResourceType, namespace: str, name: str, body: Any, opts: WriteOptions) -> tuple[int, dict]:
        obj = self._envelope(body, rtype)
        if rtype.custom and not obj["metadata"].get("resourceVersion"):  # AllowUnconditionalUpdate is false for CRs
            raise invalid_resource_version(kind=rtype.kind, group=rtype.group, name=name)
        with self.store.lock:
            old = stored(self.store, rtype, namespace, name)
            return 200, self._replace(rtype, namespace, name, old=old, new=obj, opts=opts)

    def patch(self, rtype: ResourceType, namespace: str, name: str, *, content_type: str, raw: bytes,
              opts: WriteOptions) -> tuple[int, dict]:
        media = content_type.split(";")[0].strip().lower()
        accepted = CUSTOM_PATCH_TYPES if rtype.custom else CORE_PATCH_TYPES
        if media not in accepted:
            raise unsupported_media_type(media, accepted)
        if media == APPLY_PATCH:
            return self.apply(rtype, namespace, name, raw=raw, opts=opts)
        document = decode_json(raw)
        with self.store.lock:
            old = stored(self.store, rtype, namespace, name)
            patched = PATCHERS[media](clone(served(old, rtype)), document, rtype.schema)
            if not isinstance(patched, dict):
                raise bad_request("the patch does not leave a JSON object")
            return 200, self._replace(rtype, namespace, name, old=old, new=patched, opts=opts)

    def _replace(self, rtype: ResourceType, namespace: str, name: str, *, old: dict, new: dict,
                 opts: WriteOptions) -> dict:
        new = self._envelope(new, rtype)
        self._place(rtype, new, namespace, name=name)
        self._precondition(rtype, old, new["metadata"].get("resourceVersion"))
        validation.unknown_fields(new, rtype, mode=opts.field_validation, warnings=opts.warnings)
        new = self._subresource_view(rtype, old=old, new=new, subresource=opts.subresource)
        return self._finish_update(rtype, old=old, new=new, opts=opts)

    def _finish_update(self, rtype: ResourceType, *, old: dict | None, new: dict, opts: WriteOptions) -> dict:
        """Defaults, Update ownership, checks and storage of a create/update/patch result."""
        live_fields = (old or {}).get("metadata", {}).get("managedFields")
        sent_fields = new["metadata"].pop("managedFields", None)
        self._defaults(rtype, new, old)
        if sent_fields is not None and sent_fields != live_fields:
            managers = ownership.decode(sent_fields)  # the client rewrote ownership itself
        else:
            managers = ownership.decode(live_fields)
            old_view = clone(served(old, rtype)) if old else {}
            added, modified, removed = ssa.compare(ssa.nodes(old_view, rtype.schema), ssa.nodes(new, rtype.schema))
            allowed = self._ownable(rtype, opts)
            ownership.record_update(managers, name=opts.field_manager, subresource=opts.subresource,
                                    api_version=rtype.api_version, now=timestamp(self.clock()),
                                    added=allowed(added), modified=allowed(modified), removed=allowed(removed))
        return self._commit(rtype, old=old, new=new, managers=managers, opts=opts)

    # -- server-side apply ------------------------------------------------------------------------

    def apply(self, rtype: ResourceType, namespace: str, name: str, *, raw: bytes, opts: WriteOptions) -> tuple[int, dict]:
        if not opts.explicit_manager:
            raise ApiError(422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required '
                                "for apply patch", details={"causes": [{"reason": "FieldValueRequired",
                                                                        "message": "Required value: is required for apply patch",
                                                                        "field": "fieldManager"}]})
        config = decode_apply(raw)
        if not isinstance(config, dict):
            raise bad_request("the apply configuration must be an object")
        for envelope in ("apiVersion", "kind"):
            if not config.get(envelope):
                raise bad_request(f"{envelope} must be set in an apply configuration")
        config = self._envelope(config, rtype)
        config["metadata"].setdefault("name", name)
        self._place(rtype, config, namespace, name=name)
        precondition = config["metadata"].pop("resourceVersion", None)
        config["metadata"].pop("managedFields", None)
        validation.unknown_fields(config, rtype, mode=opts.field_validation, warnings=opts.warnings)
        if rtype.custom:
            validation.drop_nulls(config, rtype.schema)
        with self.store.lock:
            old = self.store.get(rtype.group_resource, namespace, name)
            if old is None:
                if precondition or opts.subresource:
                    raise not_found(rtype.plural, rtype.group, name)
                self._require_namespace(rtype, namespace, name=name)
            else:
                self._precondition(rtype, old, precondition)
            live = clone(served(old, rtype)) if old else {}
            managers = ownership.decode(live.get("metadata", {}).get("managedFields"))
            merged = self._merge_apply(rtype, live=live, config=config, managers=managers, opts=opts)
            if old is None and rtype.status_subresource:
                merged.pop("status", None)
            self._defaults(rtype, merged, old)
            return (201 if old is None else 200), self._commit(rtype, old=old, new=merged, managers=managers, opts=opts)

    def _merge_apply(self, rtype: ResourceType, *, live: dict, config: dict, managers: list[Manager],
                     opts: WriteOptions) -> dict:
        """The merged object after conflicts, ownership and pruning (managers changed in place)."""
        schema = rtype.schema
        allowed = self._ownable(rtype, opts)
        applied = allowed(ssa.members(ssa.nodes(config, schema, strict=True)))
        merged = ssa.merge(clone(live), clone(config), schema)
        merged = self._subresource_view(rtype, old=live or None, new=merged, subresource=opts.subresource)
        added, modified, _ = ssa.compare(ssa.nodes(live, schema), ssa.nodes(merged, schema))
        key = (opts.field_manager, "Apply", opts.subresource)
        ownership.take_conflicts(managers, applier=key, changed=allowed(added | modified), force=opts.force)
        previous = ownership.record_apply(managers, name=opts.field_manager, subresource=opts.subresource,
                                          api_version=rtype.api_version, now=timestamp(self.clock()), applied=applied)
        ssa.prune(merged, previous=previous, current=applied, others=ownership.others_fields(managers, key),
                  schema=schema, protected=ownership.PROTECTED)
        merged["apiVersion"], merged["kind"] = rtype.api_version, rtype.kind
        return merged

    # -- shared steps -----------------------------------------------------------------------------

    def _envelope(self, body: Any, rtype: ResourceType) -> dict:
        if not isinstance(body, dict):
            raise bad_request(f"the body of the request must be a {rtype.kind} object")
        body_version, body_kind = body.get("apiVersion"), body.get("kind")
        if body_version and body_version != rtype.api_version:
            raise bad_request(f"the API version in the data ({body_version}) does not match the expected API version "
                              f"({rtype.api_version})")
        if body_kind and body_kind != rtype.kind:
            raise bad_request(f"the kind in the data ({body_kind}) does not match the expected kind ({rtype.kind})")
        body["apiVersion"], body["kind"] = rtype.api_version, rtype.kind
        if not isinstance(body.get("metadata"), dict):
            body["metadata"] = {}
        return body

    def _place(self, rtype: ResourceType, obj: dict, namespace: str, *, name: str | None = None) -> None:
        metadata = obj["metadata"]
        if name is not None and metadata.get("name") != name:
            raise bad_request(f"the name of the object ({metadata.get('name', '')}) does not match the name on the "
                              f"URL ({name})")
        if not rtype.namespaced:
            metadata.pop("namespace", None)
            return
        if metadata.get("namespace") and metadata["namespace"] != namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        metadata["namespace"] = namespace

    def _require_namespace(self, rtype: ResourceType, namespace: str, *, name: str = "") -> None:
        """New objects need an existing namespace that is not being deleted (NamespaceLifecycle admission)."""
        if not rtype.namespaced:
            return
        holder = self.store.get(NAMESPACES, "", namespace)
        if holder is None:
            raise not_found("namespaces", "", namespace)
        if holder["metadata"].get("deletionTimestamp"):
            raise forbidden(rtype.plural, rtype.group, name,
                            f"unable to create new content in namespace {namespace} because it is being terminated",
                            causes=[{"reason": "NamespaceTerminating", "field": "metadata.namespace",
                                     "message": f"namespace {namespace} is being terminated"}])

    def _precondition(self, rtype: ResourceType, old: dict, wanted: Any) -> None:
        if wanted and str(wanted) != old["metadata"]["resourceVersion"]:
            raise modified_conflict(rtype.plural, rtype.group, old["metadata"]["name"])

    def _subresource_view(self, rtype: ResourceType, *, old: dict | None, new: dict, subresource: str) -> dict:
        """Main-resource writes keep the live status; /status writes change nothing but status."""
        if subresource == "status":
            result = clone(served(old, rtype)) if old else {}
            result.setdefault("metadata", {})["managedFields"] = new["metadata"].get("managedFields")
            if result["metadata"]["managedFields"] is None:
                result["metadata"].pop("managedFields")
            if "status" in new:
                result["status"] = new["status"]
            else:
                result.pop("status", None)
            return result
        if rtype.status_subresource and old is not None:
            if "status" in old:
                new["status"] = clone(old["status"])
            else:
                new.pop("status", None)
        return new

    def _ownable(self, rtype: ResourceType, opts: WriteOptions):
        return lambda paths: ownership.ownable(paths, status_subresource=rtype.status_subresource,
                                               subresource=opts.subresource)

    def _defaults(self, rtype: ResourceType, obj: dict, old: dict | None) -> None:
        if rtype.custom:
            validation.default(obj, rtype)
        if rtype.group_resource == CRD_RESOURCE:
            crds.defaults(obj, old, now=timestamp(self.clock()))
        hook = DEFAULTS.get(rtype.group_resource)
        if hook is not None:
            hook(obj, old)

    def _storage_type(self, rtype: ResourceType) -> ResourceType:
        if rtype.version == rtype.storage_version:
            return rtype
        return self.registry.resolve(rtype.group, rtype.storage_version, rtype.plural) or rtype

    def _checks(self, rtype: ResourceType, obj: dict, old: dict | None) -> None:
        extra = crds.checks if rtype.group_resource == CRD_RESOURCE else CHECKS.get(rtype.group_resource)
        old_view = served(old, rtype) if old is not None else None
        validation.check(obj, rtype, old=old_view, extra=extra, update_extra=UPDATE_CHECKS.get(rtype.group_resource))

    def _admit(self, rtype: ResourceType, obj: dict, old: dict | None, opts: WriteOptions) -> None:
        """The validating-admission step (webhooks), for main-resource writes only."""
        if opts.subresource:
            return
        for admission in self.admission:
            admission(rtype, obj, old)

    def _commit(self, rtype: ResourceType, *, old: dict | None, new: dict, managers: list[Manager],
                opts: WriteOptions) -> dict:
        """System metadata, no-op detection and storage (unless dry run); returns the object as served."""
        metadata = new["metadata"]
        metadata.pop("resourceVersion", None)
        entries = ownership.encode(managers)
        if entries:
            metadata["managedFields"] = entries
        else:
            metadata.pop("managedFields", None)
        if old is None:
            metadata.pop("deletionTimestamp", None)
            metadata.pop("deletionGracePeriodSeconds", None)
            metadata["uid"] = str(uuid.uuid4())
            metadata["creationTimestamp"] = timestamp(self.clock())
            if rtype.has_generation:
                metadata["generation"] = 1
            else:
                metadata.pop("generation", None)
        else:
            for system_field in ("uid", "creationTimestamp", "generation", "deletionTimestamp",
                                 "deletionGracePeriodSeconds"):
                if system_field in old["metadata"]:
                    metadata[system_field] = old["metadata"][system_field]
                else:
                    metadata.pop(system_field, None)
        self._checks(rtype, new, old)
        self._admit(rtype, new, old, opts)
        new["apiVersion"] = rtype.api_version_of(rtype.storage_version)
        if old is not None:
            if without_resource_version(old) == without_resource_version(new):
                return served(old, rtype)
            if rtype.has_generation and _spec_of(old, rtype) != _spec_of(new, rtype):
                metadata["generation"] = int(old["metadata"].get("generation") or 0) + 1
        if opts.dry_run:
            if old is not None:
                metadata["resourceVersion"] = old["metadata"]["resourceVersion"]
            _order_metadata(new)
            return served(new, rtype)
        metadata["resourceVersion"] = ""  # keeps its place in the order; the store sets it
        _order_metadata(new)
        if len(json.dumps(new, separators=(",", ":"))) > ETCD_MAX_OBJECT:
            raise ApiError(500, "etcdserver: request is too large", reason="")
        if old is not None and metadata.get("deletionTimestamp") and not metadata.get("finalizers"):
            return served(self.deleter.remove(rtype, old), rtype)  # the last finalizer is gone
        stored = self.store.put(rtype.group_resource, new, old=old)
        # Encode the List item now, while the object is at hand: the first LIST after a bulk load stays fast.
        self.store.encoded(rtype.group_resource, stored, *list_item_encoding(self._storage_type(rtype)))
        if rtype.group_resource == CRD_RESOURCE:
            self.registry.install(stored)
        return served(stored, rtype)


# The order the apiserver writes ObjectMeta fields in (what `kubectl get -o yaml` users are used to).
_METADATA_ORDER = ("name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
                   "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
                   "ownerReferences", "finalizers", "managedFields")


def _order_metadata(obj: dict) -> None:
    metadata = obj["metadata"]
    ordered = {name: metadata[name] for name in _METADATA_ORDER if name in metadata}
    ordered.update((name, value) for name, value in metadata.items() if name not in ordered)
    obj["metadata"] = ordered


def _spec_of(obj: dict, rtype: ResourceType) -> dict:
    """What metadata.generation tracks: everything but metadata (and status, with a status subresource)."""
    skipped = {"metadata", "apiVersion", "status"} if rtype.status_subresource else {"metadata", "apiVersion"}
    return {k: v for k, v in obj.items() if k not in skipped}
