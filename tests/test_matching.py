"""What people type: without diacritics, by number, by a word of the label."""

from handlers.matching import fold, match_choice, match_many, parse_count, people_in
from handlers.messages import Button

TOPICS = [Button(label, label) for label in ("An ninh, trật tự", "Đất đai", "Khiếu nại, tố cáo")]


def test_fold_strips_diacritics_and_punctuation() -> None:
    assert fold("Đất đai!") == "dat dai"
    assert fold("  Khiếu nại, TỐ CÁO ") == "khieu nai to cao"
    assert fold("Huỷ") == fold("Hủy") == "huy"


def test_a_choice_by_number_label_or_prefix() -> None:
    assert match_choice("2", TOPICS) == TOPICS[1]
    assert match_choice("dat dai", TOPICS) == TOPICS[1]
    assert match_choice("ĐẤT ĐAI", TOPICS) == TOPICS[1]
    assert match_choice("khieu", TOPICS) == TOPICS[2]
    assert match_choice("an ninh, trat tu", TOPICS) == TOPICS[0]
    assert match_choice("4", TOPICS) is None
    assert match_choice("0", TOPICS) is None
    assert match_choice("", TOPICS) is None


def test_an_ambiguous_prefix_is_not_a_choice() -> None:
    both = [Button("Cần chú ý", "a"), Button("Cần hỗ trợ", "b")]
    assert match_choice("can", both) is None


def test_several_choices_in_one_message() -> None:
    assert match_many("1 3", TOPICS) == [TOPICS[0], TOPICS[2]]
    assert match_many("dat dai, an ninh", TOPICS) == [TOPICS[1], TOPICS[0]]
    assert match_many("dat dai va khieu nai", TOPICS) == [TOPICS[1], TOPICS[2]]
    assert match_many("dat dai, xyz", TOPICS) is None


def test_numbers_of_people() -> None:
    assert people_in("Tranh chấp giữa 2 hộ, khoảng 30 người tụ tập") == 30
    assert people_in("Khoang 1.200 nguoi dan") == 1200
    assert people_in("Có 3 hộ") is None
    assert parse_count("khoang 30") == 30
    assert parse_count("30 nguoi") == 30
    assert parse_count("khong biet") is None
    assert parse_count("20 hay 30") is None


def test_one_part_of_a_two_part_label_names_it() -> None:
    topics = [Button("Môi trường, thiên tai", "env"), Button("An ninh, trật tự", "sec")]
    assert match_choice("thien tai", topics) == topics[0]
    assert match_choice("trat tu", topics) == topics[1]
    assert match_choice("moi truong, thien tai", topics) == topics[0]
