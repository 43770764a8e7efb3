"""The top hotspots of a scope, scored as of now (shared by /diemnong, its chart and the CLI)."""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers.hotspots.detection import commune_of
from handlers.hotspots.render import Details, details_many
from handlers.services import Services
from storage.records import Unit


async def top_details(
    services: Services,
    scope: Unit,
    days: int,
    topic: str | None,
    now: datetime,
    limit: int | None = None,
) -> list[Details]:
    """Hotspots under ``scope`` with a report in the last ``days``, at a level, best first.

    Hotspots belong to communes: for a village, those of its commune that it reported to.
    """
    hs = services.settings.hotspots
    levels = services.settings.levels.keys
    path, village = scope.path, None
    if levels.index(scope.level) > levels.index(services.settings.levels.leader):
        commune = await commune_of(services, scope)
        path, village = (commune.path if commune else scope.path), scope.id
    size = limit or hs.list_size
    # stored scores are as of the last report or re-ageing; they only fade since
    spots = await services.store.hotspots.top(
        path,
        since=now - timedelta(days=days),
        min_score=hs.thresholds[0],
        topic=topic,
        limit=size * 3,
    )
    if village is not None:
        spots = [s for s in spots if str(village) in s.state.get("villages", {})]
    found = await details_many(services, spots, now)
    ranked = sorted((f for f in found if hs.level(f.score)), key=lambda f: -f.score)
    return ranked[:size]
