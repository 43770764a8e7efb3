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

    @property
    def flow(self) -> str:
        return self.value.split(".")[0]
