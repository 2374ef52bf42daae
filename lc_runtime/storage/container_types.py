"""Which Learning Core container type holds a parent block, and changing it as its children change.

Why: Learning Core's built-in Unit/Subsection/Section refuse children of another kind (a Unit only
components, a Subsection only Units, a Section only Subsections), while Split accepts any child under
any parent. ADR 0002 keeps the typed containers where the children fit and uses our permissive
``XBlockContainer`` otherwise; ADR 0010 lets an existing container change between the two as authors
add or remove children: the container keeps its entity, versions and publish history, only its
type row changes (Learning Core validates children when a version is created, never afterwards).
"""
from __future__ import annotations

from django.db import connection
from openedx_content import api as content_api
from openedx_content.models_api import Container, Draft, EntityListRow, Section, Subsection, Unit

from ..models import LcBlock, XBlockContainer

#: OLX tag → the built-in type that holds it when every child fits, and what every child must be.
TYPED = {"vertical": (Unit, None), "sequential": (Subsection, Unit), "chapter": (Section, Subsection)}


def fitting_class(block_type: str, child_classes: list) -> type:
    """The container class for a ``block_type`` parent whose children have these classes
    (``None`` for a component)."""
    typed = TYPED.get(block_type)
    if typed is None:
        return XBlockContainer
    cls, child_cls = typed
    return cls if all(c is child_cls for c in child_classes) else XBlockContainer


def classes_of(entity_ids) -> dict[int, type | None]:
    """Each entity's container class, ``None`` for components."""
    ids = list(entity_ids)
    found = dict(Container.objects.filter(pk__in=ids).values_list("pk", "container_type__type_code"))
    return {eid: (Container.subclass_for_type_code(found[eid]) if eid in found else None) for eid in ids}


def _retype(container_id: int, old: type, new: type) -> None:
    """Move the container's row from ``old``'s table to ``new``'s and point its type at ``new``."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(new._meta.db_table)} ({quote(new._meta.pk.column)}) VALUES (%s)",
                       [container_id])
        cursor.execute(f"DELETE FROM {quote(old._meta.db_table)} WHERE {quote(old._meta.pk.column)} = %s",
                       [container_id])
    Container.objects.filter(pk=container_id).update(container_type=new.get_container_type())


def fit_container(entity_id: int, block_type: str, child_entity_ids) -> type | None:
    """Give the container the type its (new) children need, then re-check its draft parents, whose
    own children's types just changed. Returns the container's class now, which holds these children
    (None: the entity is no container)."""
    child_ids = list(child_entity_ids)
    classes = classes_of(child_ids + [entity_id])
    current = classes[entity_id]
    wanted = fitting_class(block_type, [classes[c] for c in child_ids])
    if current is None or current is wanted:
        return current
    _retype(entity_id, current, wanted)
    for parent in content_api.get_containers_with_entity(entity_id):
        parent_type = LcBlock.objects.filter(entity_id=parent.pk).values_list("block_type", flat=True).first()
        if parent_type is None:
            continue
        children = draft_list_entity_ids(parent.pk)
        if children is not None:
            fit_container(parent.pk, parent_type, children)
    return wanted


def draft_list_entity_ids(entity_id: int) -> list[int] | None:
    """Every entity the container's draft version lists, soft-deleted ones too (Learning Core validates
    them all when a next version reuses the list); None when the container has no draft."""
    list_id = Draft.objects.filter(entity_id=entity_id).values_list(
        "version__containerversion__entity_list_id", flat=True).first()
    if list_id is None:
        return None
    return list(EntityListRow.objects.filter(entity_list_id=list_id).order_by("order_num")
                .values_list("entity_id", flat=True))
