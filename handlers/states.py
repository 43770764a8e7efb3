"""The states a conversation can be in; stored by value in the database."""

from enum import StrEnum


class State(StrEnum):
    IDLE = "idle"
    WEEKLY_STATUS = "weekly.status"
    WEEKLY_TOPICS = "weekly.topics"
    WEEKLY_TEXT = "weekly.text"
    WEEKLY_PEOPLE = "weekly.people"
    WEEKLY_DENUNCIATION = "weekly.denunciation"
    WEEKLY_SEVERITY = "weekly.severity"
    WEEKLY_CONFIRM = "weekly.confirm"
    WEEKLY_EDIT = "weekly.edit"
    URGENT_TEXT = "urgent.text"
    URGENT_TOPIC = "urgent.topic"
    URGENT_FOLLOWUP = "urgent.followup"
    MINE_PICK = "mine.pick"
    MINE_ADD = "mine.add"
    RESUME = "resume"
    # the rhythm of the work: the giao ban's date, the conclusions after it
    BRIEFING_DATE = "briefing.date"
    CONCLUDE_TEXT = "conclude.text"
    CONCLUDE_VILLAGE = "conclude.village"
    CONCLUDE_DUE = "conclude.due"
    CONCLUDE_MORE = "conclude.more"
    HOTSPOT_LIST = "hotspots.list"  # a list or card of hotspots is shown: a number opens
    HOTSPOT_NOTE = "hotspots.note"  # waiting for the note of "being handled" or "resolved"

    @property
    def flow(self) -> str:
        return self.value.split(".")[0]
