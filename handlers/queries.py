"""Leaders' and officers' questions: /chuabaocao, /tonghop, and /xem for one report."""

from __future__ import annotations

from collections import Counter, defaultdict

from handlers import drafting
from handlers.errors import UserError
from handlers.matching import fold
from handlers.turn import Turn
from handlers.weeks import Week, local_time, month_bounds, weeks_between
from storage.records import Member, Report, ReportKind, Role, Unit

MAX_NAMES = 30


def _thousands(n: int) -> str:
    return f"{n:,}".replace(",", ".")


async def missing(turn: Turn) -> None:
    """Villages in scope without a weekly report this week."""
    services = turn.services
    settings = services.settings
    scope = turn.me.unit
    week = Week.of(turn.now, settings.timezone)
    villages = await services.store.units.subtree(scope, settings.levels.reporter)
    await _audit(turn, "missing", {"week": week.key})
    if not villages:
        turn.say(turn.t("queries.no_villages", scope=scope.name))
        return
    reported = (await services.store.reports.reported_units(scope.path, [week.key]))[week.key]
    absent = [v for v in villages if v.id not in reported]
    text = turn.t(
        "queries.missing_head",
        week=week.label().capitalize(),
        scope=scope.name,
        done=_thousands(len(villages) - len(absent)),
        total=_thousands(len(villages)),
    )
    if not absent:
        turn.say(text + "\n" + turn.t("queries.missing_none"))
        return
    names = await _grouped_names(turn, scope, absent)
    turn.say(text + "\n" + turn.t("queries.missing_list", names=names))


async def _grouped_names(turn: Turn, scope: Unit, units: list[Unit]) -> str:
    """Village names; grouped by their parent when the scope spans several communes."""
    shown = units[:MAX_NAMES]
    parents = {u.parent_id for u in shown}
    if len(parents) <= 1 or parents == {scope.id}:
        text = ", ".join(u.name for u in shown)
    else:
        groups: dict[int | None, list[str]] = defaultdict(list)
        for unit in shown:
            groups[unit.parent_id].append(unit.name)
        named = await turn.services.store.units.by_ids([p for p in groups if p is not None])
        lines = []
        for parent_id, names in groups.items():
            parent = named.get(parent_id) if parent_id is not None else None
            lines.append(f"{parent.name if parent else ''}: {', '.join(names)}")
        text = "\n" + "\n".join(lines)
    if len(units) > MAX_NAMES:
        text += " " + turn.t("queries.and_more", n=_thousands(len(units) - MAX_NAMES))
    return text


async def summary(turn: Turn) -> None:
    """/tonghop [tuan|thang]: counts by topic and severity, urgent items, completeness."""
    services = turn.services
    settings = services.settings
    tz = settings.timezone
    scope = turn.me.unit
    period = fold(turn.text)
    if period in ("", "tuan", "tuan nay", "w"):
        week = Week.of(turn.now, tz)
        since, until, weeks = week.start(tz), week.end(tz), [week]
        title = week.label()
    elif period in ("thang", "thang nay", "m"):
        since, until = month_bounds(turn.now, tz)
        weeks = weeks_between(since, min(until, turn.now), tz) or [Week.of(turn.now, tz)]
        title = turn.t("queries.month", month=f"{since.astimezone(tz):%m/%Y}")
    else:
        raise UserError("queries.summary_usage")
    await _audit(turn, "summary", {"since": since.isoformat(), "until": until.isoformat()})
    villages = await services.store.units.subtree(scope, settings.levels.reporter)
    reported = await services.store.reports.reported_units(scope.path, [w.key for w in weeks])
    done = sum(len(units) for units in reported.values())
    expected = len(villages) * len(weeks)
    counts = await services.store.reports.topic_counts(scope.path, since, until)
    lines = [turn.t("queries.summary_head", period=title, scope=scope.name)]
    if len(weeks) == 1:
        lines.append(
            turn.t("queries.completeness_week", done=_thousands(done), total=_thousands(expected))
        )
    else:
        lines.append(
            turn.t(
                "queries.completeness_month",
                done=_thousands(done),
                total=_thousands(expected),
                weeks=len(weeks),
            )
        )
    if not counts:
        lines.append(turn.t("queries.no_issues"))
    else:
        by_topic: Counter[str] = Counter()
        by_severity: Counter[str] = Counter()
        for row in counts:
            by_topic[row.topic] += row.reports
            by_severity[row.severity] += row.reports
        topics = " · ".join(
            f"{settings.topic(code).short} {n}" for code, n in by_topic.most_common()
        )
        severities = " · ".join(
            f"{s.name} {by_severity[s.code]}"
            for s in reversed(settings.severities)
            if by_severity[s.code]
        )
        lines.append(turn.t("queries.by_topic", topics=topics))
        lines.append(turn.t("queries.by_severity", severities=severities))
    urgent = await services.store.reports.in_scope(
        scope.path, since=since, until=until, kind=ReportKind.URGENT, limit=6
    )
    if urgent:
        lines.append(turn.t("queries.urgent_head", n=len(urgent) if len(urgent) < 6 else "5+"))
        for report in urgent[:5]:
            topic = report.topics[0] if report.topics else ""
            lines.append(
                f"  #{report.id} {report.unit.name} · "
                f"{settings.topic(topic).short if topic else ''} · "
                f"{local_time(report.sent_at, tz)}"
            )
    turn.say("\n".join(lines))


def can_see(member: Member, report: Report) -> bool:
    if member.role == Role.ADMIN:
        return True
    if member.role == Role.REPORTER:
        return report.reporter_id == member.id or any(
            item.reporter_id == member.id for item in report.items
        )
    return member.unit.contains(report.unit)


async def show(turn: Turn) -> None:
    """/xem 123: one report in full, within the member's scope."""
    digits = turn.text.strip().lstrip("#")
    if not digits.isdigit():
        raise UserError("queries.show_usage")
    number = int(digits)
    report = await turn.services.store.reports.get(number)
    if report is None or not can_see(turn.me, report):
        await _audit(turn, "show.refused", {"report": number})
        raise UserError("queries.not_found", number=number)
    await _audit(turn, "show", {"report": number})
    turn.say(render_report(turn, report))


def render_report(turn: Turn, report: Report) -> str:
    services = turn.services
    settings = services.settings
    tz = settings.timezone
    if report.kind == ReportKind.URGENT:
        head = turn.t("report.head_urgent", number=report.id, unit=report.unit.name)
    else:
        week = Week.parse(report.week)
        head = turn.t(
            "report.head_weekly", number=report.id, unit=report.unit.name, week=week.label()
        )
    lines = [
        head,
        turn.t("report.reporter", name=drafting.reporter_label(services, turn.member, report)),
        turn.t("report.sent", time=local_time(report.sent_at, tz)),
    ]
    if report.place:
        lines.append(turn.t("report.place", place=report.place))
    if report.kind == ReportKind.URGENT:  # its handling (handlers/hotspots): "đang xử lý"
        status = turn.t(f"hotspots.status.{report.status}")
        lines.append(turn.t("hotspots.card.status", status=status))
    if report.is_normal:
        lines.append(turn.t("report.normal"))
    for item in report.items:
        if item.kind == "issue" and item.topic:
            parts = [settings.topic(item.topic).short]
            if item.severity:
                parts.append(settings.severity(item.severity).name.lower())
            parts.append(drafting.people_label(turn, item.people))
            lines.append(f"• {' · '.join(parts)}")
            lines.append(f"  {drafting.quote(item.text, settings.max_text_chars)}")
        elif item.kind == "addition":
            added = turn.t(
                "report.addition",
                time=local_time(item.sent_at, tz),
                name=drafting.reporter_label(services, turn.member, report, item),
            )
            said = drafting.quote(item.text, settings.max_text_chars) if item.text else ""
            lines.append(f"+ {added} {said}".rstrip())
    if report.attachments:
        kinds = Counter(a.kind for a in report.attachments)
        lines.append(
            turn.t(
                "report.attachments",
                what=", ".join(f"{n} {turn.t(f'attachment.{k}')}" for k, n in kinds.items()),
            )
        )
    return "\n".join(lines)


async def _audit(turn: Turn, query: str, detail: dict[str, object]) -> None:
    await turn.services.store.audit.write(
        turn.me.id,
        "reports.read",
        {"query": query, "scope": turn.me.unit.code, **detail},
        turn.now,
    )
